"""HTTP for coordinators, medical partners, reception teams and partner systems: turns requests into workflow
starts, Updates, signals and queries, and reads the store. One folder per area: endpoints, service, schemas."""
