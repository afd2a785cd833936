//! Chain adapters (being written).
