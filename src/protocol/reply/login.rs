//! Replies of the `login` family.
