// Flex Consumption plan + Function App running the Rust custom handler (`handler` binary).
//
// Secure defaults: HTTPS only, TLS 1.2+, FTP(S) off, basic publishing credentials off
// (deploy with an Entra identity: `func azure functionapp publish`, `az functionapp deploy`,
// `azd deploy`), CORS for the portal's origin only, identity-based storage and telemetry.

param location string
param tags object
param planName string
param appName string

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Principal (object) id of that identity.')
param identityPrincipalId string

@description('Name of the storage account used for AzureWebJobsStorage and the deployment package.')
param storageAccountName string

@description('URL of the blob container holding the deployment package.')
param deploymentContainerUrl string

@description('Application Insights component name.')
param appInsightsName string

@description('Flex Consumption runtime version for `custom` (see `az functionapp list-flexconsumption-runtimes --runtime custom`).')
param runtimeVersion string

@description('Most instances the app may scale out to.')
param maximumInstanceCount int

@description('Memory per instance, MB (512, 2048 or 4096).')
param instanceMemoryMB int

@description('The portal origin allowed by CORS (https://host, no trailing slash).')
param portalOrigin string

@description('Product settings (MFA_* and credential variables), merged into the app settings.')
param productSettings object

// Built-in role: Monitoring Metrics Publisher (send telemetry with an Entra token).
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  // azd finds the service's app by this tag (azure.yaml service `handler`).
  tags: union(tags, { 'azd-service-name': 'handler' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: runtimeVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: {
        allowedOrigins: [
          portalOrigin
        ]
        supportCredentials: false
      }
    }
  }
}

// No FTP and no basic-auth (publishing profile) deployments: Entra identities only.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// Platform settings. On Flex Consumption FUNCTIONS_WORKER_RUNTIME and
// FUNCTIONS_EXTENSION_VERSION must NOT be set: functionAppConfig.runtime replaces them.
var platformSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

// A separate config resource so MFA_PUBLIC_BASE_URL can default to the app's own host name.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(platformSettings, productSettings, empty(productSettings.MFA_PUBLIC_BASE_URL)
    ? { MFA_PUBLIC_BASE_URL: 'https://${site.properties.defaultHostName}' }
    : {})
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identityPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output url string = 'https://${site.properties.defaultHostName}'
