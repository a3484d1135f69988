"""Pure types and rules of a departure: no I/O, no clock. Shared by workflows, activities, api and documents."""
