"""cimspice.circuits."""
