#!/bin/sh
# Creates the service's DynamoDB tables in LocalStack once it is ready (LocalStack runs every script in
# /etc/localstack/init/ready.d/). The table inputs in ../tables/ are generated from infra/tables.json
# (tools/scripts/gen-localstack-tables.ts), the one definition serverless.yml and `npm run dev` also use.
#
# Environment:
#   AWS_CLI          the CLI command (default: awslocal, which LocalStack's image ships). The tests run
#                    this script against DynamoDB Local with AWS_CLI="aws --endpoint-url http://...".
#   CREATE_TABLES    0 skips everything: for `serverless deploy --stage local`, where CloudFormation
#                    creates the tables and would fail on ones that already exist.
#   TABLE_VECTOR_EMBEDDINGS, TABLE_BOT_COLLECTIONS, TABLE_BOT_DOCUMENTS, TABLE_DOCUMENT_LEASES,
#   TABLE_BOT_ALIASES, TABLE_STREAM_CLAIMS
#                    table names (defaults: the
#                    logical names, which is what `npm run dev` and the handlers default to).
# Idempotent: a table that already exists is left as it is.
set -eu

if [ "${CREATE_TABLES:-1}" = "0" ]; then
  echo "create-tables: CREATE_TABLES=0, leaving tables to CloudFormation"
  exit 0
fi

AWS_CLI="${AWS_CLI:-awslocal}"
TABLES_DIR="$(cd "$(dirname "$0")/../tables" && pwd)"

create_table() {
  definition="$1"
  name="$2"
  # A name on the command line overrides the one in the JSON input. Creating first and reading the
  # error saves a CLI round trip per table (each one starts a Python interpreter).
  # shellcheck disable=SC2086 # AWS_CLI is a command with arguments
  if error=$($AWS_CLI dynamodb create-table --cli-input-json "file://$TABLES_DIR/$definition.json" \
    --table-name "$name" 2>&1 >/dev/null); then
    # shellcheck disable=SC2086
    $AWS_CLI dynamodb wait table-exists --table-name "$name"
    echo "create-tables: created $name from $definition.json"
  elif printf '%s' "$error" | grep -q ResourceInUseException; then
    echo "create-tables: $name exists"
  else
    printf 'create-tables: creating %s failed: %s\n' "$name" "$error" >&2
    exit 1
  fi
}

create_table VectorEmbeddings "${TABLE_VECTOR_EMBEDDINGS:-VectorEmbeddings}"
create_table BotCollections "${TABLE_BOT_COLLECTIONS:-BotCollections}"
create_table BotDocuments "${TABLE_BOT_DOCUMENTS:-BotDocuments}"
create_table DocumentLeases "${TABLE_DOCUMENT_LEASES:-DocumentLeases}"
create_table BotAliases "${TABLE_BOT_ALIASES:-BotAliases}"
create_table StreamClaims "${TABLE_STREAM_CLAIMS:-StreamClaims}"
# Chunks, leases and claims expire by TTL (infra/tables.json's TimeToLiveSpecification); CreateTable
# cannot set a TTL. Setting it again on an existing table fails harmlessly.
for ttl_table in "${TABLE_VECTOR_EMBEDDINGS:-VectorEmbeddings}" "${TABLE_DOCUMENT_LEASES:-DocumentLeases}" \
  "${TABLE_STREAM_CLAIMS:-StreamClaims}"; do
  # shellcheck disable=SC2086
  $AWS_CLI dynamodb update-time-to-live --table-name "$ttl_table" \
    --time-to-live-specification Enabled=true,AttributeName=expires_at >/dev/null 2>&1 || true
done
