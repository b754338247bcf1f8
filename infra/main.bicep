// mfa-onboarding in Azure: a Flex Consumption Function App running the Rust custom handler
// against the SharePoint list store, its storage, Log Analytics + Application Insights, a
// user-assigned managed identity with the Graph permissions the product uses, and the storage
// account that serves the static admin portal.
//
// Deploy: docs/deployment.md. Every MFA_* setting below is read by the code and documented in
// docs/configuration.md; tests/deploy keeps the three in step.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- naming and hosting

@description('Short name of this environment; part of every resource name (azd sets it).')
@minLength(2)
@maxLength(12)
param environmentName string

@description('Azure region (must offer Flex Consumption).')
param location string = resourceGroup().location

@description('Tags for every resource.')
param tags object = {}

@description('Flex Consumption runtime version of the custom handler stack.')
param runtimeVersion string = '1.0'

@description('Most instances the Function App may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance, MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Days Log Analytics keeps logs.')
param logRetentionDays int = 90

@description('Object id of whoever uploads the portal (azd sets AZURE_PRINCIPAL_ID). Empty: assign Storage Blob Data Contributor on the portal account yourself.')
param deployerPrincipalId string = ''

@description('Type of deployerPrincipalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

// ---------------------------------------------------------------- Graph permissions

@description('Grant the Graph application permissions with the Graph Bicep extension (needs AppRoleAssignment.ReadWrite.All). false: run infra/grant-permissions.sh instead.')
param grantGraphPermissions bool = true

@description('Opt-in phone prepopulation (MFA_PHONE_PREPOPULATE=on; docs/directory-passes.md): grants UserAuthenticationMethod.ReadWrite.All instead of .Read.All.')
param enablePhonePrepopulation bool = false

@description('Opt-in per-user MFA enforcement, Graph beta (MFA_PER_USER_MFA; docs/directory-passes.md): off, enabled or enforced. Anything but off grants Policy.ReadWrite.AuthenticationMethod.')
@allowed([
  'off'
  'enabled'
  'enforced'
])
param perUserMfa string = 'off'

@description('Grant Policy.Read.All so the report can show Microsoft\'s registration campaign (read-only GET /policies/authenticationMethodsPolicy). It reads every policy in the tenant, Conditional Access included: off by default, the report then says "unknown".')
param readRegistrationCampaign bool = false

@description('Grant Mail.Send for EVERY mailbox in Entra. Leave false and use Exchange RBAC for Applications (docs/deployment.md).')
param grantUnscopedMailSend bool = false

// ---------------------------------------------------------------- required product settings

@description('Graph id of the SharePoint site holding the list (hostname,site-guid,web-guid).')
@minLength(1)
param sharePointSiteId string

@description('Id (GUID) of the SharePoint list: the one `worker provision-list` created, or the old system\'s list to adopt.')
@minLength(1)
param sharePointListId string

@description('Object id of the security group the Conditional Access policy targets.')
param groupId string

@description('Comma-separated sender mailbox UPNs (shared mailboxes in the Exchange RBAC scope).')
param senderMailboxes string

@description('Comma-separated admin addresses for the report email.')
param reportRecipients string

@description('Application id URI or client id of the API app registration (the `aud` of admin tokens).')
param adminAudience string

// ---------------------------------------------------------------- settings with defaults

@description('Base URL that links in emails point to. Empty: https://<the app\'s default host name>. Set it when you use a custom domain.')
param publicBaseUrl string = ''

@description('Portal origin allowed by CORS. Empty: the portal storage account\'s static website origin.')
param portalOrigin string = ''

@description('Admin API authentication: entra (bearer tokens from the portal) or easyauth (App Service Authentication).')
@allowed([
  'entra'
  'easyauth'
])
param adminAuth string = 'entra'

@description('Directory whose admin tokens are accepted.')
param adminTenantId string = tenant().tenantId

@description('App role (or group object id) an admin must hold.')
param adminRole string = 'MfaOnboarding.Admin'

@description('Log format; json is what the Application Insights queries in docs/operations.md expect.')
@allowed([
  'json'
  'pretty'
  'auto'
])
param logFormat string = 'json'

@description('Days before the next reminder (1-365).')
param reminderIntervalDays int = 7

@description('What a person must have registered to count as done: any, beyond-phone (no SMS/voice alone) or phishing-resistant (passkeys, security keys, Windows Hello).')
@allowed([
  'any'
  'beyond-phone'
  'phishing-resistant'
])
param targetStrength string = 'any'

@description('Reminders without completion before the manager is told.')
param escalateAfterReminders int = 2

@description('Address that gets escalations for people with no manager. Empty: listed for admins.')
param escalationFallback string = ''

@description('Date (2026-12-31) or RFC 3339 instant after which people who have not clicked are added to the group anyway. Empty: no deadline.')
param deadline string = ''

@description('Days after each person\'s invitation after which they are added to the group anyway (1-365). Empty: none.')
param deadlineDays string = ''

@description('Report email: daily, weekly (on reportWeekday) or off.')
@allowed([
  'daily'
  'weekly'
  'off'
])
param reportSchedule string = 'daily'

@description('Day of the weekly report (Mon, Tue, ...).')
param reportWeekday string = 'Mon'

@description('Invited this many days ago without a click counts as needing attention.')
param attentionDays int = 3

@description('Where the enrol page sends people (https).')
param setupUrl string = 'https://aka.ms/mfasetup'

@description('Registration detection: auto, report (Entra ID P1/P2) or per-user.')
@allowed([
  'auto'
  'report'
  'per-user'
])
param checkMode string = 'auto'

@description('Pilot group (object id or exact display name): when set, only its members, directly or through nested groups, are processed. Empty: everyone.')
param pilotGroup string = ''

@description('Region (two letters, e.g. NO, GB) for directory mobile numbers without a country code, used by phone prepopulation. Empty: such numbers are reported, not used.')
param phoneDefaultRegion string = ''

@description('When per-user MFA is set: active (once registered) or deadline (also everyone past MFA_DEADLINE / MFA_DEADLINE_DAYS).')
@allowed([
  'active'
  'deadline'
])
param perUserMfaWhen string = 'active'

@description('Messages per minute per sender mailbox (Exchange Online limit).')
param mailPerMinute int = 30

@description('Recipients per rolling 24 h per sender mailbox (Exchange Online limit).')
param mailPerDay int = 10000

@description('SharePoint resource units per minute of the app\'s tier, shared by every instance (MFA_SHAREPOINT_RU_PER_MINUTE): 1,250 (≤1k licences), 2,500 (≤5k), 3,750 (≤15k), 5,000 (≤50k), 6,250 (>50k); see docs/deployment.md, "Sizing for 100,000 people".')
param sharePointRuPerMinute int = 1250

@description('Instances expected to use the list at once (MFA_SHAREPOINT_PROCESSES): each keeps a small RU budget of its own and one at a time holds the rest of the tier; more instances than this may go over the tier for a while (SharePoint answers 429 and the requests wait).')
@minValue(1)
@maxValue(100)
param sharePointProcesses int = 4

@description('Longest one worker run may take, seconds (below the Functions timeout).')
param runBudgetSeconds int = 720

@description('Most people one upload may hold.')
param uploadMaxRows int = 200000

@description('Largest upload body, bytes.')
param uploadMaxBytes int = 67108864

@description('Resend requests honoured per address per 24 h.')
param resendPerAddressPerDay int = 3

@description('Resend requests honoured per client IP per hour.')
param resendPerIpPerHour int = 10

@description('Organisation name in emails and pages.')
param orgName string = 'Your organisation'

@description('https URL of the logo. Empty: no logo.')
param logoUrl string = ''

@description('Main colour, #rrggbb.')
param brandColor string = '#0078D4'

@description('Who people contact for help.')
param supportContact string = 'your IT service desk'

@description('Organisation in the Graph User-Agent (NONISV|<Org>|mfa-onboarding/<version>); no "|".')
param graphOrg string = 'Contoso'

@description('Any further app settings (tuning knobs from docs/configuration.md), merged last.')
param additionalAppSettings object = {}

// ---------------------------------------------------------------- resources

var suffix = uniqueString(resourceGroup().id, environmentName)
var names = {
  identity: 'id-mfa-${environmentName}'
  workspace: 'log-mfa-${environmentName}'
  appInsights: 'appi-mfa-${environmentName}'
  storage: take('stmfa${suffix}', 24)
  portalStorage: take('stmfaweb${suffix}', 24)
  plan: 'plan-mfa-${environmentName}'
  app: 'func-mfa-${environmentName}-${take(suffix, 6)}'
}
var deploymentContainerName = 'app-package'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    name: names.identity
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    retentionInDays: logRetentionDays
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: names.storage
    tags: tags
    deploymentContainerName: deploymentContainerName
    identityPrincipalId: identity.outputs.principalId
  }
}

module portal 'modules/portal.bicep' = {
  name: 'portal'
  params: {
    location: location
    name: names.portalStorage
    tags: tags
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

var effectivePortalOrigin = empty(portalOrigin) ? portal.outputs.origin : portalOrigin

// Every setting the product reads that an Azure deployment sets (docs/configuration.md).
var productSettings = union(
  {
    // Core
    MFA_STORE: 'sharepoint:${sharePointSiteId}/${sharePointListId}'
    MFA_PUBLIC_BASE_URL: publicBaseUrl // empty: the functionapp module fills in the app's URL
    MFA_LOG_FORMAT: logFormat
    // Features
    MFA_GROUP_ID: groupId
    MFA_SENDER_MAILBOXES: senderMailboxes
    MFA_REPORT_RECIPIENTS: reportRecipients
    MFA_ADMIN_AUTH: adminAuth
    MFA_ADMIN_TENANT_ID: adminTenantId
    MFA_ADMIN_AUDIENCE: adminAudience
    MFA_ADMIN_ROLE: adminRole
    MFA_PORTAL_ORIGIN: effectivePortalOrigin
    // Campaign
    MFA_REMINDER_INTERVAL_DAYS: string(reminderIntervalDays)
    MFA_TARGET_STRENGTH: targetStrength
    MFA_ESCALATE_AFTER_REMINDERS: string(escalateAfterReminders)
    MFA_ESCALATION_FALLBACK: escalationFallback
    MFA_SETUP_URL: setupUrl
    MFA_DEADLINE: deadline
    MFA_DEADLINE_DAYS: deadlineDays
    // Reports
    MFA_REPORT_SCHEDULE: reportSchedule
    MFA_REPORT_WEEKDAY: reportWeekday
    MFA_ATTENTION_DAYS: string(attentionDays)
    MFA_PORTAL_URL: portal.outputs.url // dashboard link in report emails
    MFA_CHECK_MODE: checkMode
    // Directory passes (opt-in; docs/directory-passes.md)
    MFA_PILOT_GROUP: pilotGroup
    MFA_PHONE_PREPOPULATE: enablePhonePrepopulation ? 'on' : 'off'
    MFA_PHONE_DEFAULT_REGION: phoneDefaultRegion
    MFA_PER_USER_MFA: perUserMfa
    MFA_PER_USER_MFA_WHEN: perUserMfaWhen
    // Sending limits
    MFA_MAIL_PER_MINUTE: string(mailPerMinute)
    MFA_MAIL_PER_DAY: string(mailPerDay)
    // The SharePoint list's RU tier, shared by the instances
    MFA_SHAREPOINT_RU_PER_MINUTE: string(sharePointRuPerMinute)
    MFA_SHAREPOINT_PROCESSES: string(sharePointProcesses)
    // Worker runs and uploads
    MFA_RUN_BUDGET_SECONDS: string(runBudgetSeconds)
    MFA_UPLOAD_MAX_ROWS: string(uploadMaxRows)
    MFA_UPLOAD_MAX_BYTES: string(uploadMaxBytes)
    // Handler
    MFA_RESEND_PER_ADDRESS_PER_DAY: string(resendPerAddressPerDay)
    MFA_RESEND_PER_IP_PER_HOUR: string(resendPerIpPerHour)
    // Branding
    MFA_ORG_NAME: orgName
    MFA_LOGO_URL: logoUrl
    MFA_BRAND_COLOR: brandColor
    MFA_SUPPORT_CONTACT: supportContact
    // Graph
    MFA_GRAPH_ORG: graphOrg
    // Credentials: the managed identity (IDENTITY_ENDPOINT/IDENTITY_HEADER are set by the
    // platform); AZURE_CLIENT_ID picks the user-assigned identity.
    AZURE_CLIENT_ID: identity.outputs.clientId
    AZURE_TENANT_ID: tenant().tenantId
  },
  additionalAppSettings
)

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    tags: tags
    planName: names.plan
    appName: names.app
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsName: monitoring.outputs.appInsightsName
    runtimeVersion: runtimeVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    portalOrigin: effectivePortalOrigin
    productSettings: productSettings
  }
}

module graphPermissions 'modules/graph-permissions.bicep' = if (grantGraphPermissions) {
  name: 'graph-permissions'
  params: {
    principalId: identity.outputs.principalId
    enablePhonePrepopulation: enablePhonePrepopulation
    enablePerUserMfa: perUserMfa != 'off'
    readRegistrationCampaign: readRegistrationCampaign
    grantUnscopedMailSend: grantUnscopedMailSend
  }
}

// ---------------------------------------------------------------- outputs (azd stores them in .azure/<env>/.env)

@description('The Function App\'s URL (the public links and the admin API live under /api).')
output FUNCTION_APP_URL string = functionApp.outputs.url

@description('The Function App\'s name (for func azure functionapp publish).')
output FUNCTION_APP_NAME string = functionApp.outputs.name

@description('The portal\'s URL (static website).')
output PORTAL_URL string = portal.outputs.url

@description('The portal storage account (post-provision enables the static website there).')
output PORTAL_STORAGE_ACCOUNT string = portal.outputs.name

@description('Principal (object) id of the managed identity: Exchange RBAC and the SharePoint site permission are granted to it.')
output IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId

@description('Client (application) id of the managed identity.')
output IDENTITY_CLIENT_ID string = identity.outputs.clientId

@description('Application Insights component (docs/operations.md).')
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
