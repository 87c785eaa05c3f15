// Data-plane access for the two identities, each assignment scoped to the narrowest resource that
// works (a storage service, a blob container, the Application Insights component, the scheduler,
// the Cosmos DB database), never to the resource group or subscription. The app's rights over the
// node scale sets are granted next to them, in compute.bicep.
//
// Nodes and their queues: a pool's queue names carry a SHA-256 of the pool id (poolQueueName in
// shared/agent-protocol.ts) and Bicep has no SHA-256, so the template cannot name the queues.
// The node role is therefore assigned on the queue service with a condition that admits only
// queues named `fnb-...` (the pool queues and their `-poison` queues): the Functions runtime's and
// Durable Functions' own queues (`fnbatch-...`, `azure-webjobs-...`) stay out of reach. All pools'
// nodes share one identity (FNBATCH_NODE_IDENTITY_ID), so a node can reach every pool's queues.

@description('Name of the storage account.')
param storageAccountName string

@description('Blob container for task outputs.')
param taskOutputContainerName string

@description('Name of the Cosmos DB account.')
param cosmosAccountName string

@description('Name of the Cosmos DB database.')
param cosmosDatabaseName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Durable Functions storage provider.')
@allowed([
  'azureStorage'
  'durableTaskScheduler'
])
param durableStorageProvider string

@description('Name of the Durable Task Scheduler (used with durableTaskScheduler only).')
param schedulerName string

@description('Principal id of the function app\'s user-assigned identity.')
param appPrincipalId string

@description('Principal id of the compute nodes\' user-assigned identity.')
param nodePrincipalId string

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402'
}

// Cosmos DB built-in data-plane role: Cosmos DB Built-in Data Contributor.
var cosmosDataContributorRoleId = '00000000-0000-0000-0000-000000000002'

var queueNameAttribute = '@Resource[Microsoft.Storage/storageAccounts/queueServices/queues:name]'

// Message Processor's actions (peek, get, delete) only on pool queues.
var nodeQueueCondition = '((!(ActionMatches{\'Microsoft.Storage/storageAccounts/queueServices/queues/messages/read\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action\'})) OR (${queueNameAttribute} StringStartsWith \'fnb-\'))'

// The agent extends a running task's invisibility (Update Message: messages/write) on pool queues,
// and moves unreadable messages to `<queue>-poison` (Put Message: messages/add/action). Message
// Processor grants neither, so a custom role carries exactly these two, each with its condition.
var nodeLeaseCondition = '((!(ActionMatches{\'Microsoft.Storage/storageAccounts/queueServices/queues/messages/write\'})) OR (${queueNameAttribute} StringStartsWith \'fnb-\')) AND ((!(ActionMatches{\'Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action\'})) OR (${queueNameAttribute} StringLike \'fnb-*-poison\'))'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource taskOutputContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: taskOutputContainerName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' existing = {
  name: schedulerName
}

// --- The function app: the Functions runtime (blobs for keys and leases, deployment package),
// Durable Functions (queues, tables, blobs), the task queues and outputs.

resource appBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(blobService.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: blobService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queueService.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: queueService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(tableService.id, appPrincipalId, roles.storageTableDataContributor)
  scope: tableService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appDurableTaskContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (durableStorageProvider == 'durableTaskScheduler') {
  name: guid(scheduler.id, appPrincipalId, roles.durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.durableTaskDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Cosmos DB data plane: read and write items in the fnbatch database only.
resource appCosmosDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmos.id, appPrincipalId, cosmosDataContributorRoleId)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributorRoleId}'
    principalId: appPrincipalId
    scope: '${cosmos.id}/dbs/${cosmosDatabaseName}'
  }
}

// --- The nodes: take tasks from the pool queues, keep them leased, write task outputs.

resource nodeQueueLeaseRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, storageAccountName, 'fnbatch-node-queue-lease')
  properties: {
    roleName: 'fnbatch node queue lease (${storageAccountName})'
    description: 'Extend the invisibility of a claimed queue message and put unreadable messages on a poison queue.'
    type: 'customRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/queueServices/queues/messages/write'
          'Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action'
        ]
        notDataActions: []
      }
    ]
    // Where the definition may be assigned; the assignment itself is scoped to the queue service.
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource nodeQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queueService.id, nodePrincipalId, roles.storageQueueDataMessageProcessor)
  scope: queueService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageProcessor)
    principalId: nodePrincipalId
    principalType: 'ServicePrincipal'
    conditionVersion: '2.0'
    condition: nodeQueueCondition
  }
}

resource nodeQueueLease 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queueService.id, nodePrincipalId, 'fnbatch-node-queue-lease')
  scope: queueService
  properties: {
    roleDefinitionId: nodeQueueLeaseRole.id
    principalId: nodePrincipalId
    principalType: 'ServicePrincipal'
    conditionVersion: '2.0'
    condition: nodeLeaseCondition
  }
}

resource nodeTaskOutputWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskOutputContainer.id, nodePrincipalId, roles.storageBlobDataContributor)
  scope: taskOutputContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: nodePrincipalId
    principalType: 'ServicePrincipal'
  }
}
