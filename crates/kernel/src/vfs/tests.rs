//! Unit tests of the path walker and tmpfs (no stub needed).
