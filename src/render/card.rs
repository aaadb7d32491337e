//! Teams Adaptive Cards (being written).
