// Microsoft Graph application permissions (app role assignments) for the app's managed
// identity, declared with the Microsoft Graph Bicep extension (see infra/bicepconfig.json).
// The person or pipeline deploying needs AppRoleAssignment.ReadWrite.All + Application.Read.All
// (e.g. the Privileged Role Administrator role). Without it, deploy with
// grantGraphPermissions=false and run infra/grant-permissions.sh as someone who has it.
//
// The list is exactly what the product calls; docs/deployment.md justifies each one.
// Mail.Send is deliberately NOT granted here: an Entra grant of Mail.Send lets the identity
// send as ANY mailbox, and Exchange adds Entra grants to RBAC for Applications grants rather
// than narrowing them. Sending is granted by Exchange RBAC for Applications
// (role "Application Mail.Send", scoped to the sender mailboxes), see docs/deployment.md.

extension microsoftGraphV1

@description('Principal (object) id of the managed identity.')
param principalId string

@description('Opt-in phone prepopulation writes phone methods: ReadWrite instead of Read.')
param enablePhonePrepopulation bool

@description('Opt-in per-user MFA enforcement (Graph beta authentication/requirements) needs Policy.ReadWrite.AuthenticationMethod.')
param enablePerUserMfa bool = false

@description('Opt-in: read Microsoft\'s registration campaign (authenticationMethodsPolicy) for the report; Policy.Read.All.')
param readRegistrationCampaign bool = false

@description('Only if Exchange RBAC for Applications cannot be used: grant Mail.Send for every mailbox (not recommended).')
param grantUnscopedMailSend bool

var baseRoles = [
  'User.Read.All' // resolve uploaded people and their managers
  'GroupMember.ReadWrite.All' // add people who click to the Conditional Access group
  enablePhonePrepopulation ? 'UserAuthenticationMethod.ReadWrite.All' : 'UserAuthenticationMethod.Read.All' // per-user method reads
  'AuditLog.Read.All' // registration-details report (Entra ID P1/P2)
  'Sites.Selected' // the SharePoint list, on the one site granted with POST /sites/{id}/permissions
]
var policyRoles = concat(
  enablePerUserMfa ? ['Policy.ReadWrite.AuthenticationMethod'] : [], // per-user MFA state
  readRegistrationCampaign ? ['Policy.Read.All'] : [] // the registration campaign's state, read-only
)
var roles = concat(baseRoles, policyRoles, grantUnscopedMailSend ? ['Mail.Send'] : [])

// Microsoft Graph's service principal in this tenant (well-known app id).
resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

resource grants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for role in roles: {
    principalId: principalId
    resourceId: graph.id
    appRoleId: filter(graph.appRoles, r => r.value == role && contains(r.allowedMemberTypes, 'Application'))[0].id
  }
]

output granted array = roles
