//! Tables as data: the guard's three here (an app adds its own), the one definition that
//! `replaysafe admin create-tables`, the tests and the SAM template check agree on.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use crate::config::Tables;

/// The attribute that holds an item's expiry (epoch seconds) in the tables that expire items.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// One table's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec<'a> {
    /// The logical name: the suffix after the table prefix.
    pub logical: &'a str,
    /// The only key: a string partition key.
    pub partition_key: &'a str,
    /// The attribute DynamoDB's TTL deletes by, if items expire.
    pub ttl_attribute: Option<&'a str>,
}

/// The guard's tables with the default names: clients, idempotency, nonces.
pub const TABLE_SPECS: [TableSpec<'static>; 3] = [
    TableSpec {
        logical: "clients",
        partition_key: "client_id",
        ttl_attribute: None,
    },
    TableSpec {
        logical: "idempotency",
        partition_key: "pk",
        ttl_attribute: Some(TTL_ATTRIBUTE),
    },
    TableSpec {
        logical: "nonces",
        partition_key: "pk",
        ttl_attribute: Some(TTL_ATTRIBUTE),
    },
];

impl Tables {
    /// The physical name of each table, with its spec under the configured attribute names.
    pub fn specs(&self) -> [(&str, TableSpec<'_>); 3] {
        let names = [&self.clients, &self.idempotency, &self.nonces];
        std::array::from_fn(|i| {
            let mut spec = TABLE_SPECS[i];
            if spec.ttl_attribute.is_some() {
                spec.partition_key = &self.partition_key;
                spec.ttl_attribute = Some(&self.expires_at);
            }
            (names[i].as_str(), spec)
        })
    }
}

/// Why a table could not be created.
pub type SchemaError = Box<dyn std::error::Error + Send + Sync>;

/// Creates whichever of `tables` (physical name, spec) are missing (on-demand billing) and
/// turns on their TTL. Safe to run again. Returns the names it created.
pub async fn create_tables(
    client: &Client,
    tables: &[(&str, TableSpec<'_>)],
) -> Result<Vec<String>, SchemaError> {
    let mut created = Vec::new();
    for &(name, spec) in tables {
        let result = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(spec.partition_key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(spec.partition_key)
                    .key_type(KeyType::Hash)
                    .build()?,
            )
            .send()
            .await;
        match result {
            Ok(_) => created.push(name.to_owned()),
            Err(e) if e.code() == Some("ResourceInUseException") => continue,
            Err(e) => return Err(DisplayErrorContext(e).to_string().into()),
        }
        if let Some(attribute) = spec.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
        }
    }
    Ok(created)
}
