#!/usr/bin/env bash
# After the Bicep deployment: switches the portal storage account's static website on (a
# data-plane setting ARM cannot make), writes the portal's config.json and uploads the portal.
# azd runs it as the postprovision hook with the deployment outputs in the environment; by hand:
#
#   PORTAL_STORAGE_ACCOUNT=<output> FUNCTION_APP_URL=<output> \
#   PORTAL_CLIENT_ID=<SPA app registration client id> PORTAL_API_SCOPE=api://mfa-onboarding/access_as_admin \
#   infra/post-provision.sh
#
# Needs the Azure CLI signed in as someone with Storage Blob Data Contributor on the portal
# account (the Bicep grants it to deployerPrincipalId) and Storage Account Contributor (to
# change the blob service properties). Shared keys are disabled: everything uses --auth-mode login.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${PORTAL_STORAGE_ACCOUNT:?set PORTAL_STORAGE_ACCOUNT (deployment output)}"
: "${FUNCTION_APP_URL:?set FUNCTION_APP_URL (deployment output)}"

echo "== enabling the static website on $PORTAL_STORAGE_ACCOUNT"
az storage blob service-properties update --account-name "$PORTAL_STORAGE_ACCOUNT" \
  --auth-mode login --static-website --index-document index.html --404-document index.html \
  --output none

if [[ ! -d portal ]]; then
  echo "No portal/ folder in this checkout: static website enabled, nothing uploaded."
  exit 0
fi

if [[ -z "${PORTAL_CLIENT_ID:-}" || -z "${PORTAL_API_SCOPE:-}" ]]; then
  echo "PORTAL_CLIENT_ID / PORTAL_API_SCOPE not set: uploading the portal without config.json;" >&2
  echo "write it by hand (docs/deployment.md, 'Configure the portal')." >&2
  config=""
else
  config=$(mktemp)
  tenant="${AZURE_TENANT_ID:-$(az account show --query tenantId -o tsv)}"
  cat >"$config" <<JSON
{
  "apiBaseUrl": "${FUNCTION_APP_URL}",
  "tenantId": "${tenant}",
  "clientId": "${PORTAL_CLIENT_ID}",
  "apiScope": "${PORTAL_API_SCOPE}"
}
JSON
fi

echo "== uploading portal/ to \$web"
az storage blob upload-batch --account-name "$PORTAL_STORAGE_ACCOUNT" --auth-mode login \
  --destination '$web' --source portal --overwrite --output none
if [[ -n "$config" ]]; then
  az storage blob upload --account-name "$PORTAL_STORAGE_ACCOUNT" --auth-mode login \
    --container-name '$web' --name config.json --file "$config" \
    --content-type application/json --overwrite --output none
  rm -f "$config"
fi
echo "Portal: $(az storage account show -n "$PORTAL_STORAGE_ACCOUNT" --query primaryEndpoints.web -o tsv)"
