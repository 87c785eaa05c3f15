// Where fnbatch keeps state: one storage account (Functions runtime, Durable Functions' Azure Storage
// backend, the pools' task queues, task outputs, the Flex Consumption deployment container) with
// shared-key access off, a Cosmos DB account with local auth off, and optionally a Durable Task
// Scheduler. Nothing here hands out keys: every client signs in with a managed identity.

@description('Region for the resources.')
param location string

@description('Tags for every resource.')
param tags object

@description('Name of the storage account.')
param storageAccountName string

@description('Blob container Flex Consumption deploys the app package from.')
param deploymentContainerName string

@description('Blob container for task outputs (TASK_OUTPUT_CONTAINER in shared/agent-protocol.ts).')
param taskOutputContainerName string

@description('Name of the Cosmos DB account.')
param cosmosAccountName string

@description('Name of the Cosmos DB database (COSMOS_DATABASE).')
param cosmosDatabaseName string

@description('Cosmos DB capacity mode.')
@allowed([
  'serverless'
  'provisioned'
])
param cosmosCapacityMode string

@description('Durable Functions storage provider.')
@allowed([
  'azureStorage'
  'durableTaskScheduler'
])
param durableStorageProvider string

@description('Name of the Durable Task Scheduler (used with durableTaskScheduler only).')
param schedulerName string

@description('Task hub name; must match durableTask.hubName in host.json.')
param taskHubName string

// The containers the app reads and writes, with the partition keys its queries assume.
var cosmosContainers = [
  {
    name: 'jobs'
    partitionKey: '/id'
  }
  {
    name: 'tasks'
    partitionKey: '/jobId'
  }
  {
    name: 'pools'
    partitionKey: '/id'
  }
  {
    name: 'nodes'
    partitionKey: '/poolId'
  }
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource taskOutputContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: taskOutputContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Declared so role assignments can be scoped to the queue and table services.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: cosmosAccountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    capabilities: cosmosCapacityMode == 'serverless'
      ? [
          {
            name: 'EnableServerless'
          }
        ]
      : []
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: cosmos
  name: cosmosDatabaseName
  properties: {
    resource: {
      id: cosmosDatabaseName
    }
    options: cosmosCapacityMode == 'serverless'
      ? {}
      : {
          autoscaleSettings: {
            maxThroughput: 1000
          }
        }
  }
}

resource containers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for container in cosmosContainers: {
    parent: database
    name: container.name
    properties: {
      resource: {
        id: container.name
        partitionKey: {
          paths: [
            container.partitionKey
          ]
          kind: 'Hash'
          version: 2
        }
      }
    }
  }
]

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = if (durableStorageProvider == 'durableTaskScheduler') {
  name: schedulerName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'Consumption'
    }
    // An empty allow list denies everything; access is still gated by the role assignment.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = if (durableStorageProvider == 'durableTaskScheduler') {
  parent: scheduler
  name: taskHubName
}

output storageAccountName string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output cosmosAccountName string = cosmos.name
output cosmosEndpoint string = cosmos.properties.documentEndpoint
output schedulerEndpoint string = durableStorageProvider == 'durableTaskScheduler' ? scheduler.properties.endpoint : ''
