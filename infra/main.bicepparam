// Parameters for infra/main.bicep, read from environment variables so one file serves both
// paths (docs/deployment.md):
//   az:  export the variables below, then
//        az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
//   azd: `azd env set SHAREPOINT_SITE_ID …` etc.; azd sets AZURE_ENV_NAME, AZURE_LOCATION
//        and AZURE_PRINCIPAL_ID itself.
// A variable without a default below must be set: the deployment stops if it is missing.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'prod')
param location = readEnvironmentVariable('AZURE_LOCATION', 'swedencentral')
param deployerPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')

// SharePoint list store: MFA_STORE = sharepoint:<site-id>/<list-id>.
// Site id: GET https://graph.microsoft.com/v1.0/sites/contoso.sharepoint.com:/sites/ITProjects?$select=id
//   e.g. contoso.sharepoint.com,2c7d…,9a1e…   List id: the list's GUID.
param sharePointSiteId = readEnvironmentVariable('SHAREPOINT_SITE_ID')
param sharePointListId = readEnvironmentVariable('SHAREPOINT_LIST_ID')

// Conditional Access group (object id), sender shared mailboxes, report recipients.
param groupId = readEnvironmentVariable('MFA_GROUP_ID')
param senderMailboxes = readEnvironmentVariable('MFA_SENDER_MAILBOXES') // mfa-rollout@contoso.com,mfa-rollout2@contoso.com
param reportRecipients = readEnvironmentVariable('MFA_REPORT_RECIPIENTS') // it-security@contoso.com

// Admin API app registration (docs/deployment.md step 2): its application id URI.
param adminAudience = readEnvironmentVariable('MFA_ADMIN_AUDIENCE', 'api://mfa-onboarding')

// Branding (defaults as in docs/configuration.md).
param orgName = readEnvironmentVariable('MFA_ORG_NAME', 'Your organisation')
param supportContact = readEnvironmentVariable('MFA_SUPPORT_CONTACT', 'your IT service desk')
param graphOrg = readEnvironmentVariable('MFA_GRAPH_ORG', 'Contoso')

// Custom domains (empty: the Azure host names).
param portalOrigin = readEnvironmentVariable('MFA_PORTAL_ORIGIN', '')
param publicBaseUrl = readEnvironmentVariable('MFA_PUBLIC_BASE_URL', '')

// Deploying without AppRoleAssignment.ReadWrite.All? Set to 'false' and run infra/grant-permissions.sh.
param grantGraphPermissions = bool(readEnvironmentVariable('GRANT_GRAPH_PERMISSIONS', 'true'))
