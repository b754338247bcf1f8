#!/usr/bin/env bash
# Grants the Function App's managed identity the Microsoft Graph application permissions the
# product uses — the same list as infra/modules/graph-permissions.bicep — for deployments made
# with grantGraphPermissions=false (the deployer lacked AppRoleAssignment.ReadWrite.All).
# Run it as someone who has it (Privileged Role Administrator or Global Administrator):
#
#   az login --tenant <tenant-id>
#   infra/grant-permissions.sh <identity-principal-id> [--phone-prepopulation] [--per-user-mfa] [--registration-campaign]
#
# <identity-principal-id> is the deployment output IDENTITY_PRINCIPAL_ID. Idempotent: a
# permission already granted is reported and skipped. Mail.Send is not granted here on purpose:
# use Exchange RBAC for Applications (docs/deployment.md, "Let the app send mail").
set -euo pipefail

usage() { echo "usage: $0 <identity-principal-id> [--phone-prepopulation] [--per-user-mfa] [--registration-campaign]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
principal="$1"; shift
methods="UserAuthenticationMethod.Read.All"
policy=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --phone-prepopulation) methods="UserAuthenticationMethod.ReadWrite.All" ;;
    --per-user-mfa) policy+=(Policy.ReadWrite.AuthenticationMethod) ;;
    --registration-campaign) policy+=(Policy.Read.All) ;;
    *) usage ;;
  esac
  shift
done

roles=(User.Read.All GroupMember.ReadWrite.All "$methods" AuditLog.Read.All Sites.Selected ${policy[@]+"${policy[@]}"})
graph_app_id=00000003-0000-0000-c000-000000000000
base=https://graph.microsoft.com/v1.0

graph_sp=$(az rest --method get --url "$base/servicePrincipals(appId='$graph_app_id')?\$select=id" --query id -o tsv)
existing=$(az rest --method get \
  --url "$base/servicePrincipals/$principal/appRoleAssignments?\$select=appRoleId" \
  --query 'value[].appRoleId' -o tsv)

for role in "${roles[@]}"; do
  role_id=$(az rest --method get --url "$base/servicePrincipals/$graph_sp?\$select=appRoles" \
    --query "appRoles[?value=='$role' && contains(allowedMemberTypes, 'Application')].id | [0]" -o tsv)
  if [[ -z "$role_id" ]]; then
    echo "error: Microsoft Graph has no application permission named $role" >&2
    exit 1
  fi
  if grep -qx "$role_id" <<<"$existing"; then
    echo "already granted: $role"
    continue
  fi
  az rest --method post --url "$base/servicePrincipals/$principal/appRoleAssignedTo" \
    --headers 'Content-Type=application/json' \
    --body "{\"principalId\":\"$principal\",\"resourceId\":\"$graph_sp\",\"appRoleId\":\"$role_id\"}" \
    --output none
  echo "granted: $role"
done
echo "Done. Next: Exchange RBAC for Applications and the SharePoint site permission (docs/deployment.md)."
