"""Pure business rules: no I/O, no clock reads. Everything they need comes in as arguments."""
