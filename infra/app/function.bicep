// The fnbatch Functions app on the Flex Consumption plan, running as its user-assigned identity.
// The app settings are exactly those shared/config/app-settings.ts declares for Azure (a test holds
// the two together), except FUNCTIONS_WORKER_RUNTIME: Flex Consumption refuses it as an app setting
// and takes the runtime from functionAppConfig.runtime instead.

@description('Region for the resources.')
param location string

@description('Tags for every resource.')
param tags object

@description('Name of the function app.')
param functionAppName string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Resource id of the app\'s user-assigned identity.')
param appIdentityId string

@description('Client id of the app\'s user-assigned identity.')
param appIdentityClientId string

@description('Name of the storage account.')
param storageAccountName string

@description('Blob endpoint of the storage account (ends with a slash).')
param storageBlobEndpoint string

@description('Blob container Flex Consumption deploys the app package from.')
param deploymentContainerName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Cosmos DB account endpoint.')
param cosmosEndpoint string

@description('Cosmos DB database name.')
param cosmosDatabaseName string

@description('Prefix of the node scale set names.')
param scaleSetPrefix string

@description('Resource id of the node subnet.')
param nodeSubnetId string

@description('Resource id of the nodes\' user-assigned identity.')
param nodeIdentityId string

@description('Client id of the nodes\' user-assigned identity.')
param nodeIdentityClientId string

@description('Upper bound on dedicated nodes per pool.')
param maxDedicatedNodesPerPool int

@description('Upper bound on Spot nodes per pool.')
param maxSpotNodesPerPool int

@description('URL of the fnbatch release package (.zip).')
param releasePackageUrl string

@description('Deploy the app\'s code from the release package now (the portal path); azd deploys its own build instead.')
param deployAppFromPackage bool

@description('How callers authenticate to the API.')
@allowed([
  'keys'
  'entra'
])
param apiAuthentication string

@description('Application (client) id of the Microsoft Entra app registration that fronts the API (entra only).')
param entraClientId string

@description('Durable Functions storage provider.')
@allowed([
  'azureStorage'
  'durableTaskScheduler'
])
param durableStorageProvider string

@description('Durable Task Scheduler endpoint (durableTaskScheduler only).')
param schedulerEndpoint string

@description('Most instances Flex Consumption may run.')
param maximumInstanceCount int = 100

@description('Memory of each instance in MB.')
param instanceMemoryMB int = 2048

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

var appSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: appIdentityClientId
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: appIdentityClientId
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'Authorization=AAD;ClientId=${appIdentityClientId}'
  }
  {
    name: 'COSMOS_ENDPOINT'
    value: cosmosEndpoint
  }
  {
    name: 'COSMOS_DATABASE'
    value: cosmosDatabaseName
  }
  {
    name: 'FNBATCH_SCALE_SET_PROVIDER'
    value: 'azure'
  }
  {
    name: 'FNBATCH_SUBSCRIPTION_ID'
    value: subscription().subscriptionId
  }
  {
    name: 'FNBATCH_RESOURCE_GROUP'
    value: resourceGroup().name
  }
  {
    name: 'FNBATCH_LOCATION'
    value: location
  }
  {
    name: 'FNBATCH_SCALE_SET_PREFIX'
    value: scaleSetPrefix
  }
  {
    name: 'FNBATCH_NODE_SUBNET_ID'
    value: nodeSubnetId
  }
  {
    name: 'FNBATCH_NODE_IDENTITY_ID'
    value: nodeIdentityId
  }
  {
    name: 'FNBATCH_NODE_IDENTITY_CLIENT_ID'
    value: nodeIdentityClientId
  }
  {
    name: 'FNBATCH_MAX_DEDICATED_NODES'
    value: string(maxDedicatedNodesPerPool)
  }
  {
    name: 'FNBATCH_MAX_SPOT_NODES'
    value: string(maxSpotNodesPerPool)
  }
  {
    name: 'FNBATCH_AGENT_PACKAGE_URL'
    value: releasePackageUrl
  }
  {
    name: 'FNBATCH_API_AUTH'
    value: apiAuthentication
  }
]

// Durable Task Scheduler instead of Azure Storage: host.json settings overridden by the host's own
// AzureFunctionsJobHost__ convention, and the connection the Durable extension reads (identity,
// no secret).
var durableTaskSchedulerSettings = [
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type'
    value: 'azureManaged'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName'
    value: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  }
  {
    name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
    value: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${appIdentityClientId}'
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${appIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // The connection string is read at deployment time, so it is listed here rather than in a variable.
      appSettings: concat(
        appSettings,
        [
          {
            name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
            value: appInsights.properties.ConnectionString
          }
        ],
        durableStorageProvider == 'durableTaskScheduler' ? durableTaskSchedulerSettings : []
      )
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: appIdentityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// Microsoft Entra ID in front of the whole API: callers (users, and nodes with their identity)
// present a token for the app registration.
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = if (apiAuthentication == 'entra') {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: entraClientId
          openIdIssuer: 'https://sts.windows.net/${tenant().tenantId}/'
        }
        validation: {
          allowedAudiences: [
            'api://${entraClientId}'
            entraClientId
          ]
        }
      }
    }
  }
}

// The portal path: Flex Consumption's one-deploy pulls the release package into the deployment
// container and runs it.
resource packageDeployment 'Microsoft.Web/sites/extensions@2024-04-01' = if (deployAppFromPackage) {
  parent: functionApp
  name: 'onedeploy'
  #disable-next-line BCP187
  properties: {
    packageUri: releasePackageUrl
    remoteBuild: false
  }
  dependsOn: [
    authSettings
  ]
}

output name string = functionApp.name
output apiEndpoint string = 'https://${functionApp.properties.defaultHostName}/api'
