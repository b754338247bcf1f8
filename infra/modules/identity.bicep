// The user-assigned managed identity the Function App runs as. Graph permissions, storage
// roles and the SharePoint site permission are granted to this identity, so they survive the
// Function App being deleted and recreated.

param location string
param name string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
