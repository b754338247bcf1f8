// Storage account that serves the static admin portal from its `$web` container.
//
// ARM cannot switch the static website on: that is a data-plane setting of the blob service.
// `infra/post-provision.sh` (run by `azd` as the postprovision hook, or by hand) enables it
// with `az storage blob service-properties update --static-website`, writes the portal's
// config.json and uploads the portal. Anonymous blob access stays off: the static website
// endpoint serves `$web` without it, and nothing else in this account is public.

param location string
param name string
param tags object

@description('Object id of the person or pipeline that uploads the portal (Storage Blob Data Contributor). Empty: assign it yourself.')
param deployerPrincipalId string

@description('Type of deployerPrincipalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string

// Built-in role: Storage Blob Data Contributor.
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource uploader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(storage.id, deployerPrincipalId, storageBlobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

output name string = storage.name
// The web endpoint ends with '/'; an origin does not.
output origin string = take(storage.properties.primaryEndpoints.web, length(storage.properties.primaryEndpoints.web) - 1)
output url string = storage.properties.primaryEndpoints.web
