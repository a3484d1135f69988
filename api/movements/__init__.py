"""Movements (one flight carrying many families): their state, boarding, arrival, and reception webhooks."""
