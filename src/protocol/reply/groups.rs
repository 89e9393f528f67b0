//! Replies of the `groups` family.
