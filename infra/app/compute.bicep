// The compute nodes: per pool, a Flexible-orchestration scale set for dedicated nodes and one with
// Spot priority, both starting at zero instances (the app grows them), in a virtual network that
// admits nothing from the internet and reaches out through a NAT gateway. Each VM boots with
// node-cloud-init.yaml, which installs Node.js and the agent and starts it as a service under its
// own system user. The app may manage exactly these scale sets and nothing else.
//
// Note: a redeployment sets both scale sets of every pool back to zero instances.

@description('Region for the resources.')
param location string

@description('Tags for every resource.')
param tags object

@description('Prefix of the scale set names: <prefix>-<pool>-dedicated and <prefix>-<pool>-spot.')
param scaleSetPrefix string

@description('Pool ids; each gets a dedicated and a Spot scale set.')
param poolNames array

@description('VM size of the nodes.')
param nodeVmSize string

@description('Task slots per node (FNBATCH_TASK_SLOTS).')
param taskSlotsPerNode int

@description('SSH public key of the nodes\' admin user (no inbound access exists; for serial console and Bastion).')
param nodeSshPublicKey string

@description('Name of the nodes\' user-assigned identity.')
param nodeIdentityName string

@description('Principal id of the function app\'s identity, which manages the scale sets.')
param appPrincipalId string

@description('Name of the function app; its default host key becomes the agents\' key.')
param functionAppName string

@description('Base URL of the API, e.g. https://<app>.azurewebsites.net/api.')
param apiEndpoint string

@description('How callers authenticate to the API.')
@allowed([
  'keys'
  'entra'
])
param apiAuthentication string

@description('Application (client) id of the Entra app registration in front of the API (entra only).')
param entraClientId string

@description('Queue endpoint of the storage account (FNBATCH_STORAGE for the agents).')
param storageQueueEndpoint string

@description('URL of the fnbatch release package the nodes install the agent from.')
param releasePackageUrl string

@description('Name of the node virtual network.')
param vnetName string

@description('Name of the node subnet.')
param subnetName string

@description('Name of the node network security group.')
param nsgName string

@description('Name of the NAT gateway for the nodes\' outbound traffic.')
param natGatewayName string

@description('Name of the NAT gateway\'s public IP address.')
param publicIpName string

var roles = {
  virtualMachineContributor: '9980e02c-c2be-4d73-94e8-173b1dc7cf3c'
  managedIdentityOperator: 'f1a07417-d97a-45cb-824c-7a7467783830'
}

var cloudInitTemplate = loadTextContent('node-cloud-init.yaml')

var nodeImage = {
  publisher: 'Canonical'
  offer: 'ubuntu-24_04-lts'
  sku: 'server'
  version: 'latest'
}

resource nodeIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: nodeIdentityName
}

resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: nsgName
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'deny-internet-inbound'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: 'Internet'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource publicIp 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: publicIpName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
  }
}

// Outbound only: nodes fetch Node.js and the release package and call the API and Storage.
resource natGateway 'Microsoft.Network/natGateways@2024-05-01' = {
  name: natGatewayName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [
      {
        id: publicIp.id
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.40.0.0/16'
      ]
    }
    subnets: [
      {
        name: subnetName
        properties: {
          addressPrefix: '10.40.0.0/20'
          defaultOutboundAccess: false
          networkSecurityGroup: {
            id: nsg.id
          }
          natGateway: {
            id: natGateway.id
          }
        }
      }
    ]
  }
}

resource nodeSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: subnetName
}

resource dedicatedScaleSets 'Microsoft.Compute/virtualMachineScaleSets@2024-07-01' = [
  for pool in poolNames: {
    name: '${scaleSetPrefix}-${replace(replace(replace(toLower(pool), '_', '-'), '.', '-'), ' ', '-')}-dedicated'
    location: location
    tags: union(tags, {
      'fnbatch-pool': pool
    })
    sku: {
      name: nodeVmSize
      tier: 'Standard'
      capacity: 0
    }
    identity: {
      type: 'UserAssigned'
      userAssignedIdentities: {
        '${nodeIdentity.id}': {}
      }
    }
    properties: {
      orchestrationMode: 'Flexible'
      platformFaultDomainCount: 1
      virtualMachineProfile: {
        priority: 'Regular'
        osProfile: {
          computerNamePrefix: take('fnb${replace(replace(replace(toLower(pool), '_', '-'), '.', '-'), ' ', '-')}', 9)
          adminUsername: 'fnbatchadmin'
          customData: base64(format(cloudInitTemplate, apiEndpoint, apiAuthentication == 'keys' ? listKeys(resourceId('Microsoft.Web/sites/host', functionAppName, 'default'), '2024-04-01').functionKeys.default : '', pool, 'true', string(taskSlotsPerNode), storageQueueEndpoint, nodeIdentity.properties.clientId, releasePackageUrl, apiAuthentication, apiAuthentication == 'entra' ? 'api://${entraClientId}' : ''))
          linuxConfiguration: {
            disablePasswordAuthentication: true
            ssh: {
              publicKeys: [
                {
                  path: '/home/fnbatchadmin/.ssh/authorized_keys'
                  keyData: nodeSshPublicKey
                }
              ]
            }
          }
        }
        storageProfile: {
          imageReference: nodeImage
          osDisk: {
            createOption: 'FromImage'
            caching: 'ReadWrite'
            deleteOption: 'Delete'
            managedDisk: {
              storageAccountType: 'StandardSSD_LRS'
            }
          }
        }
        networkProfile: {
          networkApiVersion: '2020-11-01'
          networkInterfaceConfigurations: [
            {
              name: 'nic'
              properties: {
                primary: true
                deleteOption: 'Delete'
                ipConfigurations: [
                  {
                    name: 'ipconfig'
                    properties: {
                      subnet: {
                        id: nodeSubnet.id
                      }
                    }
                  }
                ]
              }
            }
          ]
        }
      }
    }
  }
]

resource spotScaleSets 'Microsoft.Compute/virtualMachineScaleSets@2024-07-01' = [
  for pool in poolNames: {
    name: '${scaleSetPrefix}-${replace(replace(replace(toLower(pool), '_', '-'), '.', '-'), ' ', '-')}-spot'
    location: location
    tags: union(tags, {
      'fnbatch-pool': pool
    })
    sku: {
      name: nodeVmSize
      tier: 'Standard'
      capacity: 0
    }
    identity: {
      type: 'UserAssigned'
      userAssignedIdentities: {
        '${nodeIdentity.id}': {}
      }
    }
    properties: {
      orchestrationMode: 'Flexible'
      platformFaultDomainCount: 1
      virtualMachineProfile: {
        priority: 'Spot'
        evictionPolicy: 'Delete'
        billingProfile: {
          maxPrice: -1
        }
        osProfile: {
          computerNamePrefix: take('fnb${replace(replace(replace(toLower(pool), '_', '-'), '.', '-'), ' ', '-')}', 9)
          adminUsername: 'fnbatchadmin'
          customData: base64(format(cloudInitTemplate, apiEndpoint, apiAuthentication == 'keys' ? listKeys(resourceId('Microsoft.Web/sites/host', functionAppName, 'default'), '2024-04-01').functionKeys.default : '', pool, 'false', string(taskSlotsPerNode), storageQueueEndpoint, nodeIdentity.properties.clientId, releasePackageUrl, apiAuthentication, apiAuthentication == 'entra' ? 'api://${entraClientId}' : ''))
          linuxConfiguration: {
            disablePasswordAuthentication: true
            ssh: {
              publicKeys: [
                {
                  path: '/home/fnbatchadmin/.ssh/authorized_keys'
                  keyData: nodeSshPublicKey
                }
              ]
            }
          }
        }
        storageProfile: {
          imageReference: nodeImage
          osDisk: {
            createOption: 'FromImage'
            caching: 'ReadWrite'
            deleteOption: 'Delete'
            managedDisk: {
              storageAccountType: 'StandardSSD_LRS'
            }
          }
        }
        networkProfile: {
          networkApiVersion: '2020-11-01'
          networkInterfaceConfigurations: [
            {
              name: 'nic'
              properties: {
                primary: true
                deleteOption: 'Delete'
                ipConfigurations: [
                  {
                    name: 'ipconfig'
                    properties: {
                      subnet: {
                        id: nodeSubnet.id
                      }
                    }
                  }
                ]
              }
            }
          ]
        }
      }
    }
  }
]

// The app grows, shrinks and lists these scale sets only.
resource appDedicatedScaleSetContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (pool, i) in poolNames: {
    name: guid(dedicatedScaleSets[i].id, appPrincipalId, roles.virtualMachineContributor)
    scope: dedicatedScaleSets[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.virtualMachineContributor)
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource appSpotScaleSetContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (pool, i) in poolNames: {
    name: guid(spotScaleSets[i].id, appPrincipalId, roles.virtualMachineContributor)
    scope: spotScaleSets[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.virtualMachineContributor)
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

// New instances join the node subnet and carry the node identity: ARM checks the caller may
// join that subnet (Virtual Machine Contributor includes subnets/join/action, and at subnet scope
// nothing more applies) and assign that identity (Managed Identity Operator on it alone).
resource appSubnetJoin 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(nodeSubnet.id, appPrincipalId, roles.virtualMachineContributor)
  scope: nodeSubnet
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.virtualMachineContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appNodeIdentityOperator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(nodeIdentity.id, appPrincipalId, roles.managedIdentityOperator)
  scope: nodeIdentity
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.managedIdentityOperator)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}
