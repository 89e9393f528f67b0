//! Replies of the `misc` family.
