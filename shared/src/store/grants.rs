//! The IAM grants the guard's own DynamoDB and KMS calls need, as data: a deployment tool (this
//! repo's `make endpoints`) adds them to every function's role beside the app's.

/// One statement of a function's IAM role: DynamoDB `actions` (without the `dynamodb:` prefix)
/// on one `table`, by its logical name (`clients`, `nonces`, `idempotency`, or an app's), under
/// the statement id `sid`.
///
/// ```
/// use replaysafe::store::grants::{Grant, GUARD_GRANTS, GUARD_POST_GRANTS};
///
/// let orders = Grant::new("PutOrder", "orders", &["PutItem"]);
/// let mut role: Vec<Grant> = GUARD_GRANTS.to_vec();
/// role.extend(GUARD_POST_GRANTS);
/// role.push(orders);
/// assert!(role.iter().all(|g| !g.actions.contains(&"DeleteItem")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The statement's `Sid`: what the function does with the table.
    pub sid: &'static str,
    /// The table's logical name.
    pub table: &'static str,
    /// DynamoDB actions, e.g. `GetItem`.
    pub actions: &'static [&'static str],
}

impl Grant {
    /// `actions` on `table`, as statement `sid`.
    pub const fn new(
        sid: &'static str,
        table: &'static str,
        actions: &'static [&'static str],
    ) -> Self {
        Self {
            sid,
            table,
            actions,
        }
    }
}

/// What the guard calls for every request: it reads the signing key (with the default
/// [`KeySource`](crate::auth::KeySource)), writes the key's `last_used_at` (a conditional
/// `UpdateItem`, at most once a minute per key per warm function) and consumes the nonce (a
/// conditional `PutItem`).
pub const GUARD_GRANTS: [Grant; 3] = [
    Grant::new("AuthenticateClient", "clients", &["GetItem"]),
    Grant::new("RecordKeyUse", "clients", &["UpdateItem"]),
    Grant::new("ConsumeNonce", "nonces", &["PutItem"]),
];

/// What the guard calls for every POST besides: it reads the idempotency item, claims the key
/// inside the app's `TransactWriteItems` (which IAM authorizes item by item: `PutItem` or
/// `UpdateItem` on each table the transaction touches) and writes a fence with `PutItem`.
pub const GUARD_POST_GRANTS: [Grant; 1] = [Grant::new(
    "ReadAndClaimIdempotencyKey",
    "idempotency",
    &["GetItem", "PutItem"],
)];

/// What the guard calls besides for a POST with an outside effect
/// ([`Guard::post_leased`](crate::Guard::post_leased)): it takes an expired lease over with a
/// conditional `UpdateItem`.
pub const GUARD_LEASE_GRANTS: [Grant; 1] =
    [Grant::new("TakeOverLease", "idempotency", &["UpdateItem"])];

/// One KMS statement of a function's IAM role: `actions` (without the `kms:` prefix) on the
/// key that encrypts the guard's data key, under the statement id `sid`, allowed only with the
/// data key's [encryption context](crate::store::sealing::KMS_ENCRYPTION_CONTEXT).
///
/// ```
/// use replaysafe::store::grants::GUARD_KMS_GRANTS;
/// use replaysafe::store::sealing::KMS_ENCRYPTION_CONTEXT;
///
/// assert_eq!(GUARD_KMS_GRANTS[0].actions, ["Decrypt"]);
/// assert_eq!(KMS_ENCRYPTION_CONTEXT.0, "purpose");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KmsGrant {
    /// The statement's `Sid`.
    pub sid: &'static str,
    /// KMS actions, e.g. `Decrypt`.
    pub actions: &'static [&'static str],
}

/// What the guard calls once per warm function when it verifies signatures with the keys of
/// the clients table and `SECRETS_DATA_KEY` is set: KMS `Decrypt` of its data key (see
/// [`sealing`](crate::store::sealing)). Nothing else: no `Encrypt`, no `GenerateDataKey` (an
/// operator's, with `replaysafe admin create-data-key`).
pub const GUARD_KMS_GRANTS: [KmsGrant; 1] = [KmsGrant {
    sid: "OpenSecretsDataKey",
    actions: &["Decrypt"],
}];
