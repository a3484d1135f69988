"""Adapters to the organisations a departure depends on: one interface per partner role."""
