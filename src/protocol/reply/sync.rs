//! Replies of the `sync` family.
