// Entry point for the Azure Developer CLI (azd up): a resource group, then everything in it
// (resources.bicep). The portal's "Deploy to Azure" button deploys resources.bicep alone, compiled
// to azuredeploy.json, into a resource group the user picks.
targetScope = 'subscription'

@description('Name of the azd environment; names the resource group.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region for every resource.')
@minLength(1)
param location string

@description('Prefix of resource names and of the node scale sets: lowercase letters, digits and hyphens.')
@minLength(3)
@maxLength(12)
param namePrefix string = 'fnbatch'

@description('VM size of the compute nodes.')
param nodeVmSize string = 'Standard_D2as_v5'

@description('Most dedicated nodes a pool may have.')
param maxDedicatedNodesPerPool int = 10

@description('Most Spot (low-priority) nodes a pool may have.')
param maxSpotNodesPerPool int = 10

@description('Task slots per node.')
param taskSlotsPerNode int = 1

@description('Pool ids; each gets a dedicated and a Spot scale set.')
param poolNames array = [
  'default'
]

@description('How callers authenticate to the API.')
@allowed([
  'keys'
  'entra'
])
param apiAuthentication string = 'keys'

@description('Application (client) id of the Microsoft Entra app registration in front of the API (entra only).')
param entraClientId string = ''

@description('Durable Functions storage provider.')
@allowed([
  'azureStorage'
  'durableTaskScheduler'
])
param durableStorageProvider string = 'azureStorage'

@description('Cosmos DB capacity mode.')
@allowed([
  'serverless'
  'provisioned'
])
param cosmosCapacityMode string = 'serverless'

@description('URL of the fnbatch release package the nodes install the agent from.')
param releasePackageUrl string = 'https://github.com/fnbatch/fnbatch/releases/latest/download/fnbatch.zip'

@description('Also deploy the app from the release package during provisioning (azd deploy replaces it with the local build).')
param deployAppFromPackage bool = true

@description('SSH public key for the nodes\' admin user.')
param nodeSshPublicKey string

var abbrs = loadJsonContent('abbreviations.json')
var tags = {
  'azd-env-name': environmentName
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'fnbatch-resources'
  scope: rg
  params: {
    location: location
    namePrefix: namePrefix
    nodeVmSize: nodeVmSize
    maxDedicatedNodesPerPool: maxDedicatedNodesPerPool
    maxSpotNodesPerPool: maxSpotNodesPerPool
    taskSlotsPerNode: taskSlotsPerNode
    poolNames: poolNames
    apiAuthentication: apiAuthentication
    entraClientId: entraClientId
    durableStorageProvider: durableStorageProvider
    cosmosCapacityMode: cosmosCapacityMode
    releasePackageUrl: releasePackageUrl
    deployAppFromPackage: deployAppFromPackage
    nodeSshPublicKey: nodeSshPublicKey
    tags: tags
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output API_ENDPOINT string = resources.outputs.API_ENDPOINT
output API_CREDENTIAL_COMMAND string = resources.outputs.API_CREDENTIAL_COMMAND
output AZURE_FUNCTION_APP_NAME string = resources.outputs.AZURE_FUNCTION_APP_NAME
