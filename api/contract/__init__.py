"""Serves the published partner contract (partners/contract) with our callbacks' bodies filled in."""
