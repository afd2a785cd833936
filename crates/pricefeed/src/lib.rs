//! Price sources (being written).
