//! Network facts at the bottom layer: this machine's addresses (`lan`) and the listen-address
//! type the settings name (`listen`). No sockets are opened here; `server` binds them.

pub mod lan;
pub mod listen;
