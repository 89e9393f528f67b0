//! Numbered schema migrations. `PRAGMA user_version` holds the number applied last; each entry runs
//! once, in order, inside one transaction. Never edit a released entry: add a new one.

pub const MIGRATIONS: &[&str] = &[
    // 1: accounts, contact lists and groups for every protocol version.
    r#"
    CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        handle      TEXT NOT NULL UNIQUE,
        friendly    TEXT NOT NULL,
        md5_salt    TEXT NOT NULL,
        md5_hash    TEXT NOT NULL,
        password    TEXT NOT NULL,          -- Argon2id PHC string
        blp_block   INTEGER NOT NULL DEFAULT 0,
        gtc_prompt  INTEGER NOT NULL DEFAULT 1,
        serial      INTEGER NOT NULL DEFAULT 0,
        phone_home  TEXT NOT NULL DEFAULT '',
        phone_work  TEXT NOT NULL DEFAULT '',
        phone_mobile TEXT NOT NULL DEFAULT '',
        mob         INTEGER NOT NULL DEFAULT 0,
        mbe         INTEGER NOT NULL DEFAULT 0,
        created     INTEGER NOT NULL
    );
    CREATE TABLE groups (
        user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        num         INTEGER NOT NULL,       -- 0..29, the MSNP7-9 id; 0 is "Other Contacts"
        guid        TEXT NOT NULL,          -- the MSNP10+ id
        name        TEXT NOT NULL,
        PRIMARY KEY (user_id, num)
    ) WITHOUT ROWID;
    CREATE TABLE contacts (
        user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        contact_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        lists       INTEGER NOT NULL,       -- FL=1 AL=2 BL=4 RL=8 PL=16
        name        TEXT NOT NULL,
        guid        TEXT NOT NULL,
        groups      INTEGER NOT NULL DEFAULT 0,  -- bit n = member of group n
        PRIMARY KEY (user_id, contact_id)
    ) WITHOUT ROWID;
    CREATE INDEX contacts_by_contact ON contacts(contact_id);
    "#,
    // 2: invitation codes for self-registration (`msnpd invite`, `--registration invite`).
    r#"
    CREATE TABLE invites (
        code        TEXT PRIMARY KEY,       -- upper case, as printed by `msnpd invite create`
        max_uses    INTEGER NOT NULL,
        uses        INTEGER NOT NULL DEFAULT 0,
        expires     INTEGER,                -- unix seconds; NULL never expires
        revoked     INTEGER NOT NULL DEFAULT 0,
        created     INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: secrets the server derives values from (the MD5 challenge of unknown handles), kept
    // across restarts so those values stay stable.
    r#"
    CREATE TABLE server_secrets (
        name        TEXT PRIMARY KEY,
        value       BLOB NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 4: sign-outs asked for by `msnpd user del|passwd` (a separate process) and carried out by
    // the running server, which polls for them when PRAGMA data_version says another connection
    // committed. Rows are deleted once handled, and all at server start (nobody is online then).
    r#"
    CREATE TABLE signouts (
        handle      TEXT NOT NULL,
        reason      TEXT NOT NULL
    );
    "#,
    // Credential version: raised by every password change; Tweener tickets and MD5 challenges
    // carry the version they were issued under and are refused once it moved (issue 21, 4).
    r#"
    ALTER TABLE users ADD COLUMN cred_version INTEGER NOT NULL DEFAULT 0;
    "#,
    // SCRAM-SHA-1/-256 keys for XMPP logins (docs/xmpp.md), one row per account and mechanism,
    // written whenever the plaintext password is at hand: set, imported, or checked by a PLAIN
    // login of an account created before this table.
    r#"
    CREATE TABLE scram_keys (
        user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        mechanism   TEXT NOT NULL,          -- 'SCRAM-SHA-1', 'SCRAM-SHA-256'
        salt        BLOB NOT NULL,
        iterations  INTEGER NOT NULL,
        stored_key  BLOB NOT NULL,
        server_key  BLOB NOT NULL,
        PRIMARY KEY (user_id, mechanism)
    ) WITHOUT ROWID;
    "#,
];
