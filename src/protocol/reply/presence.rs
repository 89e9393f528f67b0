//! Replies of the `presence` family.
