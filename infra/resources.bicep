// Everything fnbatch runs on, in one resource group. azuredeploy.json at the repository root is this
// file compiled (az bicep build --file infra/resources.bicep --outfile azuredeploy.json); CI fails
// when the two differ.
targetScope = 'resourceGroup'

@description('Region for every resource.')
param location string = resourceGroup().location

@description('Prefix of resource names and of the node scale sets (<prefix>-<pool>-dedicated, <prefix>-<pool>-spot): lowercase letters, digits and hyphens.')
@minLength(3)
@maxLength(12)
param namePrefix string = 'fnbatch'

@description('VM size of the compute nodes.')
@allowed([
  'Standard_D2as_v5'
  'Standard_D4as_v5'
  'Standard_D8as_v5'
  'Standard_D2s_v5'
  'Standard_D4s_v5'
  'Standard_D8s_v5'
  'Standard_F2s_v2'
  'Standard_F4s_v2'
  'Standard_E2as_v5'
  'Standard_E4as_v5'
])
param nodeVmSize string = 'Standard_D2as_v5'

@description('Most dedicated nodes a pool may have.')
@minValue(0)
@maxValue(1000)
param maxDedicatedNodesPerPool int = 10

@description('Most Spot (low-priority) nodes a pool may have.')
@minValue(0)
@maxValue(1000)
param maxSpotNodesPerPool int = 10

@description('Task slots per node.')
@minValue(1)
@maxValue(256)
param taskSlotsPerNode int = 1

@description('Pool ids; each gets a dedicated and a Spot scale set. Use lowercase letters, digits and hyphens.')
@minLength(1)
param poolNames array = [
  'default'
]

@description('How callers authenticate to the API: function keys, or Microsoft Entra ID (needs entraClientId).')
@allowed([
  'keys'
  'entra'
])
param apiAuthentication string = 'keys'

@description('Application (client) id of the Microsoft Entra app registration in front of the API; used with entra only.')
param entraClientId string = ''

@description('Durable Functions storage provider: Azure Storage, or Durable Task Scheduler for higher throughput.')
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

@description('URL of the fnbatch release package (.zip): the app\'s code, and what nodes install the agent from.')
param releasePackageUrl string = 'https://github.com/fnbatch/fnbatch/releases/latest/download/fnbatch.zip'

@description('Deploy the app\'s code from the release package during provisioning (azd deploy then replaces it with the local build).')
param deployAppFromPackage bool = true

@description('SSH public key for the nodes\' admin user (the nodes accept no inbound traffic from the internet).')
param nodeSshPublicKey string

@description('Tags for every resource.')
param tags object = {}

var abbrs = loadJsonContent('abbreviations.json')
var prefix = toLower(namePrefix)
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, prefix))
var functionAppName = '${abbrs.webSitesFunctions}${prefix}-${resourceToken}'
var storageAccountName = take('${abbrs.storageStorageAccounts}${replace(prefix, '-', '')}${resourceToken}', 24)
var deploymentContainerName = 'app-package-${resourceToken}'
// TASK_OUTPUT_CONTAINER in shared/agent-protocol.ts.
var taskOutputContainerName = 'fnbatch-task-outputs'
// COSMOS_DATABASE's default in shared/config/app-settings.ts.
var cosmosDatabaseName = 'fnbatch'
// durableTask.hubName in host.json.
var taskHubName = 'fnbatch'
var nodeVnetName = '${abbrs.networkVirtualNetworks}${prefix}-nodes'
var nodeSubnetName = 'nodes'

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentityUserAssignedIdentities}${prefix}-app-${resourceToken}'
  location: location
  tags: tags
}

resource nodeIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentityUserAssignedIdentities}${prefix}-nodes-${resourceToken}'
  location: location
  tags: tags
}

module monitoring 'app/monitoring.bicep' = {
  name: 'fnbatch-monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${prefix}-${resourceToken}'
    appInsightsName: '${abbrs.insightsComponents}${prefix}-${resourceToken}'
  }
}

module data 'app/data.bicep' = {
  name: 'fnbatch-data'
  params: {
    location: location
    tags: tags
    storageAccountName: storageAccountName
    deploymentContainerName: deploymentContainerName
    taskOutputContainerName: taskOutputContainerName
    cosmosAccountName: '${abbrs.documentDBDatabaseAccounts}${prefix}-${resourceToken}'
    cosmosDatabaseName: cosmosDatabaseName
    cosmosCapacityMode: cosmosCapacityMode
    durableStorageProvider: durableStorageProvider
    schedulerName: '${abbrs.durableTaskSchedulers}${prefix}-${resourceToken}'
    taskHubName: taskHubName
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'fnbatch-rbac'
  params: {
    storageAccountName: data.outputs.storageAccountName
    taskOutputContainerName: taskOutputContainerName
    cosmosAccountName: data.outputs.cosmosAccountName
    cosmosDatabaseName: cosmosDatabaseName
    appInsightsName: monitoring.outputs.appInsightsName
    durableStorageProvider: durableStorageProvider
    schedulerName: '${abbrs.durableTaskSchedulers}${prefix}-${resourceToken}'
    appPrincipalId: appIdentity.properties.principalId
    nodePrincipalId: nodeIdentity.properties.principalId
  }
}

// After rbac: the app starts (and one-deploy writes its package) with its identity's rights in place.
module functionApp 'app/function.bicep' = {
  name: 'fnbatch-function'
  params: {
    location: location
    tags: tags
    functionAppName: functionAppName
    planName: '${abbrs.webServerFarms}${prefix}-${resourceToken}'
    appIdentityId: appIdentity.id
    appIdentityClientId: appIdentity.properties.clientId
    storageAccountName: data.outputs.storageAccountName
    storageBlobEndpoint: data.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    cosmosEndpoint: data.outputs.cosmosEndpoint
    cosmosDatabaseName: cosmosDatabaseName
    scaleSetPrefix: prefix
    nodeSubnetId: resourceId('Microsoft.Network/virtualNetworks/subnets', nodeVnetName, nodeSubnetName)
    nodeIdentityId: nodeIdentity.id
    nodeIdentityClientId: nodeIdentity.properties.clientId
    maxDedicatedNodesPerPool: maxDedicatedNodesPerPool
    maxSpotNodesPerPool: maxSpotNodesPerPool
    releasePackageUrl: releasePackageUrl
    deployAppFromPackage: deployAppFromPackage
    apiAuthentication: apiAuthentication
    entraClientId: entraClientId
    durableStorageProvider: durableStorageProvider
    schedulerEndpoint: data.outputs.schedulerEndpoint
  }
  dependsOn: [
    rbac
  ]
}

module compute 'app/compute.bicep' = {
  name: 'fnbatch-compute'
  params: {
    location: location
    tags: tags
    scaleSetPrefix: prefix
    poolNames: poolNames
    nodeVmSize: nodeVmSize
    taskSlotsPerNode: taskSlotsPerNode
    nodeSshPublicKey: nodeSshPublicKey
    nodeIdentityName: nodeIdentity.name
    appPrincipalId: appIdentity.properties.principalId
    functionAppName: functionApp.outputs.name
    apiEndpoint: functionApp.outputs.apiEndpoint
    apiAuthentication: apiAuthentication
    entraClientId: entraClientId
    storageQueueEndpoint: data.outputs.queueEndpoint
    releasePackageUrl: releasePackageUrl
    vnetName: nodeVnetName
    subnetName: nodeSubnetName
    nsgName: '${abbrs.networkNetworkSecurityGroups}${prefix}-nodes'
    natGatewayName: '${abbrs.networkNatGateways}${prefix}-nodes'
    publicIpName: '${abbrs.networkPublicIPAddresses}${prefix}-nodes-outbound'
  }
}

@description('Base URL of the fnbatch API.')
output API_ENDPOINT string = functionApp.outputs.apiEndpoint

@description('A command that prints a credential for the API (the credential itself is never an output).')
output API_CREDENTIAL_COMMAND string = apiAuthentication == 'keys'
  ? 'az functionapp keys list --resource-group ${resourceGroup().name} --name ${functionApp.outputs.name} --query functionKeys.default --output tsv'
  : 'az account get-access-token --resource api://${entraClientId} --query accessToken --output tsv'

@description('Name of the function app.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Name of the storage account.')
output AZURE_STORAGE_ACCOUNT_NAME string = data.outputs.storageAccountName

@description('Cosmos DB endpoint.')
output COSMOS_ENDPOINT string = data.outputs.cosmosEndpoint
