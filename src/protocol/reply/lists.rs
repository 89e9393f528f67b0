//! Replies of the `lists` family.
