"""The pure core: domain rules with no I/O, imported by every other layer."""
