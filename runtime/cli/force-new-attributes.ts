/**
 * Which attribute changes make Terraform replace a resource, for every resource type the library
 * declares: read from the provider schemas, each row citing the file that declares them.
 * azurerm rows are hashicorp/terraform-provider-azurerm at AZURERM_SOURCE_TAG (the version the
 * bindings pin), random rows hashicorp/terraform-provider-random at RANDOM_SOURCE_TAG.
 *
 * `forceNew` lists the attributes the schema marks `ForceNew: true` (directly, or through
 * commonschema.Location(), ResourceGroupName(), ...ForceNew() and azure.SchemaResourceGroupNameDiffSuppress(),
 * all ForceNew), and the random provider's `RequiresReplace` plan modifiers; a block path (a.b)
 * covers everything inside it. `forceNewWhen` holds the replacements a resource's CustomizeDiff
 * decides from the old and new values. The offline review (stack-diff.ts) and the plan report
 * (terraform-plan.ts) read this table; test/runtime/cli/force-new-attributes.test.ts fails when a
 * type the library declares has no row.
 */

export const AZURERM_SOURCE_TAG = 'v4.55.0';
export const RANDOM_SOURCE_TAG = 'v3.7.2';

/** A replacement the provider decides from the old and new values (CustomizeDiff). */
export interface ConditionalForceNew {
  /** The attribute, blocks joined by '.'. */
  readonly path: string;
  /** When it forces a new resource, as the provider source says. */
  readonly rule: string;
  /**
   * true: this change replaces the resource; false: it does not; undefined: cannot tell offline
   * (a value known only at apply time, or an unset value whose provider default is not known here).
   */
  readonly forces: (before: unknown, after: unknown, afterResource: Readonly<Record<string, unknown>>) => boolean | undefined;
}

export interface ResourceReplacementRule {
  /** What the resource is, in a reviewer's words. */
  readonly what: string;
  readonly provider: 'azurerm' | 'random';
  /** The provider source files (at the tag of `provider`) where these attributes are declared. */
  readonly sources: readonly string[];
  readonly forceNew: readonly string[];
  readonly forceNewWhen?: readonly ConditionalForceNew[];
  /**
   * Updated in place by the provider, but a network change a reviewer must see: Azure changes a
   * subnet's address range only while nothing is deployed in it (Microsoft Learn, "Add, change,
   * or delete a virtual network subnet"), and every subnet the library derives holds bots, the
   * runtime's VNet integration, the database or the private endpoint.
   */
  readonly network?: readonly string[];
  /**
   * What goes with the resource when it is replaced or destroyed. A replacement is routine (not
   * destructive) only for the library's own resources that carry the marker of
   * constructs/routine-replacement.ts, never for a type as a whole.
   */
  readonly loses?: string;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && !value.includes('${') ? value : undefined);
const isSet = (value: unknown): boolean => value !== undefined && value !== null && value !== '';
const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined);

/** Replacing a random resource gives it a new value. */
const NEW_VALUE = 'a new value: the password or token made from it changes, and everything that holds it is updated';

const randomPasswordSource = 'internal/provider/resource_password.go';

export const FORCE_NEW_ATTRIBUTES: Readonly<Record<string, ResourceReplacementRule>> = {
  azurerm_resource_group: {
    what: 'resource group',
    provider: 'azurerm',
    sources: ['internal/services/resource/resource_group_resource.go'],
    forceNew: ['name', 'location'],
    loses: 'every resource of the environment is in it',
  },
  azurerm_virtual_network: {
    what: 'virtual network',
    provider: 'azurerm',
    sources: ['internal/services/network/virtual_network_resource.go'],
    forceNew: ['name', 'resource_group_name', 'location', 'edge_zone'],
    network: ['address_space'],
    loses: 'its subnets, and the bots, runtime integration, database and private endpoint in them',
  },
  azurerm_subnet: {
    what: 'subnet',
    provider: 'azurerm',
    sources: ['internal/services/network/subnet_resource.go'],
    forceNew: ['name', 'resource_group_name', 'virtual_network_name'],
    network: ['address_prefixes'],
    loses: 'what is deployed in it: bots, the runtime integration, the database or the private endpoint',
  },
  azurerm_network_security_group: {
    what: 'network security group',
    provider: 'azurerm',
    sources: ['internal/services/network/network_security_group_resource.go'],
    forceNew: ['name', 'location', 'resource_group_name'],
    loses: "the bots' subnet has no deny-inbound rules until the new one is associated",
  },
  azurerm_network_security_rule: {
    what: 'network security rule',
    provider: 'azurerm',
    sources: ['internal/services/network/network_security_rule_resource.go'],
    forceNew: ['name', 'resource_group_name', 'network_security_group_name'],
  },
  azurerm_subnet_network_security_group_association: {
    what: 'subnet NSG association',
    provider: 'azurerm',
    sources: ['internal/services/network/subnet_network_security_group_association_resource.go'],
    forceNew: ['subnet_id', 'network_security_group_id'],
  },
  azurerm_nat_gateway: {
    what: 'NAT gateway',
    provider: 'azurerm',
    sources: ['internal/services/network/nat_gateway_resource.go'],
    forceNew: ['name', 'location', 'resource_group_name', 'zones'],
    loses: "the bots' outbound path, until the new one is associated",
  },
  azurerm_nat_gateway_public_ip_association: {
    what: 'NAT gateway public IP association',
    provider: 'azurerm',
    sources: ['internal/services/network/nat_gateway_public_ip_association_resource.go'],
    forceNew: ['nat_gateway_id', 'public_ip_address_id'],
  },
  azurerm_subnet_nat_gateway_association: {
    what: 'subnet NAT gateway association',
    provider: 'azurerm',
    sources: ['internal/services/network/subnet_nat_gateway_association_resource.go'],
    forceNew: ['subnet_id', 'nat_gateway_id'],
  },
  azurerm_public_ip: {
    what: 'public IP',
    provider: 'azurerm',
    sources: ['internal/services/network/public_ip_resource.go'],
    forceNew: ['name', 'location', 'resource_group_name', 'edge_zone', 'ip_version', 'sku', 'sku_tier', 'public_ip_prefix_id', 'ip_tags', 'zones'],
    forceNewWhen: [
      {
        path: 'domain_name_label_scope',
        rule: 'any change once a scope is set, and removing one',
        forces: (before, after) => isSet(before) || !isSet(after),
      },
    ],
    loses: "the bots' outbound address changes: allow-lists that name it must change",
  },
  azurerm_orchestrated_virtual_machine_scale_set: {
    what: 'scale set',
    provider: 'azurerm',
    sources: ['internal/services/compute/orchestrated_virtual_machine_scale_set_resource.go', 'internal/services/compute/orchestrated_virtual_machine_scale_set.go', 'internal/services/compute/shared_schema.go'],
    forceNew: [
      'name',
      'resource_group_name',
      'location',
      'sku_profile',
      'capacity_reservation_group_id',
      'eviction_policy',
      'extension_operations_enabled',
      'plan',
      'platform_fault_domain_count',
      'priority',
      'proximity_placement_group_id',
      'zone_balance',
      'upgrade_mode',
      'os_profile.windows_configuration.admin_username',
      'os_profile.windows_configuration.admin_password',
      'os_profile.windows_configuration.computer_name_prefix',
      'os_profile.windows_configuration.provision_vm_agent',
      'os_profile.linux_configuration.admin_username',
      'os_profile.linux_configuration.admin_password',
      'os_profile.linux_configuration.computer_name_prefix',
      'os_profile.linux_configuration.provision_vm_agent',
      'network_interface.name',
      'network_interface.ip_configuration.public_ip_address.ip_tag',
      'network_interface.ip_configuration.public_ip_address.public_ip_prefix_id',
      'network_interface.ip_configuration.public_ip_address.sku_name',
      'network_interface.ip_configuration.public_ip_address.version',
      'os_disk.storage_account_type',
      'os_disk.diff_disk_settings',
      'os_disk.disk_encryption_set_id',
      'data_disk.disk_encryption_set_id',
      'additional_capabilities.ultra_ssd_enabled',
      'source_image_reference.publisher',
      'source_image_reference.offer',
    ],
    forceNewWhen: [
      {
        path: 'zones',
        rule: 'removing a zone is not supported',
        forces: (before, after) => {
          if (before === undefined || before === null) return false;
          if (!Array.isArray(before) || (after !== undefined && after !== null && !Array.isArray(after))) return undefined;
          const now = new Set((after as unknown[] | null | undefined) ?? []);
          return before.some((z) => !now.has(z));
        },
      },
    ],
    loses: "the group's bots are deleted, runs in progress included",
  },
  azurerm_virtual_machine_scale_set_standby_pool: {
    what: 'standby pool',
    provider: 'azurerm',
    sources: ['internal/services/compute/virtual_machine_scale_set_standby_pool_resource.go'],
    forceNew: ['name', 'resource_group_name', 'location'],
    loses: 'its warm bots',
  },
  azurerm_user_assigned_identity: {
    what: 'managed identity',
    provider: 'azurerm',
    sources: ['internal/services/managedidentity/user_assigned_identity_resource.go'],
    forceNew: ['location', 'name', 'resource_group_name'],
    loses: 'it becomes a new principal: access granted to the old one outside this stack is lost',
  },
  azurerm_role_definition: {
    what: 'custom role',
    provider: 'azurerm',
    sources: ['internal/services/authorization/role_definition_resource.go'],
    forceNew: ['role_definition_id', 'scope'],
    loses: 'assignments of the role lapse until they are made again',
  },
  azurerm_role_assignment: {
    what: 'role assignment',
    provider: 'azurerm',
    sources: ['internal/services/authorization/role_assignment_resource.go'],
    forceNew: [
      'name',
      'scope',
      'role_definition_id',
      'role_definition_name',
      'principal_id',
      'principal_type',
      'delegated_managed_identity_resource_id',
      'description',
      'condition',
      'condition_version',
    ],
    loses: 'the access it grants lapses until the new assignment is made',
  },
  azurerm_key_vault: {
    what: 'Key Vault',
    provider: 'azurerm',
    sources: ['internal/services/keyvault/key_vault_resource.go'],
    forceNew: ['name', 'location', 'resource_group_name'],
    loses: 'its secrets; a deleted vault keeps its name for its soft-delete retention',
  },
  azurerm_key_vault_secret: {
    what: 'Key Vault secret',
    provider: 'azurerm',
    sources: ['internal/services/keyvault/key_vault_secret_resource.go'],
    forceNew: ['name', 'key_vault_id'],
    loses: "the secret's earlier versions",
  },
  azurerm_linux_web_app: {
    what: 'runtime App Service',
    provider: 'azurerm',
    sources: ['internal/services/appservice/linux_web_app_resource.go'],
    forceNew: ['name', 'resource_group_name', 'location'],
    loses: "the runtime's address is its name: bots, pipelines and users must use the new URL",
  },
  azurerm_service_plan: {
    what: 'App Service plan',
    provider: 'azurerm',
    sources: ['internal/services/appservice/service_plan_resource.go'],
    forceNew: ['name', 'resource_group_name', 'location', 'os_type'],
    forceNewWhen: [
      {
        path: 'zone_balancing_enabled',
        rule: 'turning zone balancing on with fewer than 2 workers',
        forces: (before, after, resource) => {
          if (after !== true || before === true) return false;
          const workers = number(resource.worker_count);
          return workers === undefined ? undefined : workers < 2;
        },
      },
    ],
    loses: 'the runtime app runs on it',
  },
  azurerm_postgresql_flexible_server: {
    what: 'PostgreSQL server',
    provider: 'azurerm',
    sources: ['internal/services/postgres/postgresql_flexible_server_resource.go'],
    forceNew: ['name', 'resource_group_name', 'location', 'delegated_subnet_id', 'point_in_time_restore_time_in_utc', 'source_server_id', 'geo_redundant_backup_enabled', 'customer_managed_key'],
    forceNewWhen: [
      {
        path: 'version',
        rule: 'a lower major version',
        forces: (before, after) => {
          const [a, b] = [number(before), number(after)];
          return a === undefined || b === undefined ? undefined : b < a;
        },
      },
      { path: 'administrator_login', rule: 'any change once it is set', forces: () => true },
      {
        path: 'storage_mb',
        rule: 'a smaller size',
        forces: (before, after) => {
          const [a, b] = [number(before), number(after)];
          return a === undefined || b === undefined ? undefined : b < a;
        },
      },
      {
        path: 'identity.type',
        rule: 'dropping the user-assigned identity',
        forces: (before, after) => {
          const a = before ?? 'None';
          const b = after ?? 'None';
          if (text(a) === undefined || text(b) === undefined) return undefined;
          return String(a).includes('UserAssigned') && !String(b).includes('UserAssigned');
        },
      },
    ],
    loses: "the runtime's store: queues, run history and audit records are lost",
  },
  azurerm_postgresql_flexible_server_database: {
    what: 'PostgreSQL database',
    provider: 'azurerm',
    sources: ['internal/services/postgres/postgresql_flexible_server_database_resource.go'],
    forceNew: ['name', 'server_id', 'charset', 'collation'],
    loses: "the runtime's store: queues, run history and audit records are lost",
  },
  azurerm_postgresql_flexible_server_firewall_rule: {
    what: 'PostgreSQL firewall rule',
    provider: 'azurerm',
    sources: ['internal/services/postgres/postgresql_flexible_server_firewall_rule_resource.go'],
    forceNew: ['name', 'server_id'],
  },
  azurerm_postgresql_flexible_server_active_directory_administrator: {
    what: 'PostgreSQL Entra administrator',
    provider: 'azurerm',
    sources: ['internal/services/postgres/postgresql_flexible_server_active_directory_administrator_resource.go'],
    forceNew: ['server_name', 'resource_group_name', 'object_id', 'principal_name', 'principal_type', 'tenant_id'],
    loses: "the runtime's sign-in to its database lapses until the new administrator is created",
  },
  azurerm_private_dns_zone: {
    what: 'private DNS zone',
    provider: 'azurerm',
    sources: ['internal/services/privatedns/private_dns_zone_resource.go'],
    forceNew: ['name', 'resource_group_name', 'soa_record'],
    loses: 'its records: private names resolve again once they are recreated',
  },
  azurerm_private_dns_zone_virtual_network_link: {
    what: 'private DNS zone link',
    provider: 'azurerm',
    sources: ['internal/services/privatedns/private_dns_zone_virtual_network_link_resource.go'],
    forceNew: ['name', 'private_dns_zone_name', 'resource_group_name', 'virtual_network_id'],
  },
  azurerm_private_endpoint: {
    what: 'private endpoint',
    provider: 'azurerm',
    sources: ['internal/services/network/private_endpoint_resource.go'],
    forceNew: [
      'name',
      'location',
      'resource_group_name',
      'subnet_id',
      'custom_network_interface_name',
      'private_service_connection.name',
      'private_service_connection.is_manual_connection',
      'private_service_connection.private_connection_resource_id',
      'private_service_connection.private_connection_resource_alias',
      'private_service_connection.subresource_names',
      'ip_configuration.name',
      'ip_configuration.private_ip_address',
      'ip_configuration.subresource_name',
      'ip_configuration.member_name',
    ],
    loses: 'bots reach the runtime through it',
  },
  azurerm_storage_account: {
    what: 'storage account',
    provider: 'azurerm',
    sources: ['internal/services/storage/storage_account_resource.go'],
    forceNew: [
      'name',
      'resource_group_name',
      'location',
      'account_tier',
      'provisioned_billing_model_version',
      'edge_zone',
      'immutability_policy',
      'is_hns_enabled',
      'nfsv3_enabled',
      'dns_endpoint_type',
      'queue_encryption_key_type',
      'table_encryption_key_type',
      'infrastructure_encryption_enabled',
    ],
    forceNewWhen: [
      {
        path: 'account_kind',
        rule: 'any change but an upgrade from Storage, or to StorageV2',
        forces: (before, after) => {
          const [a, b] = [text(before ?? 'StorageV2'), text(after ?? 'StorageV2')];
          return a === undefined || b === undefined ? undefined : a !== 'Storage' && b !== 'StorageV2';
        },
      },
      {
        path: 'account_replication_type',
        rule: 'between a zone-redundant kind (ZRS, GZRS, RAGZRS) and one that is not (LRS, GRS, RAGRS)',
        forces: (before, after) => {
          const [a, b] = [text(before), text(after)];
          if (a === undefined || b === undefined) return undefined;
          const zoned = (v: string) => ['ZRS', 'GZRS', 'RAGZRS'].includes(v.toUpperCase());
          return zoned(a) !== zoned(b);
        },
      },
      { path: 'large_file_share_enabled', rule: 'turning it off', forces: (before, after) => before === true && after !== true },
    ],
    loses: 'the runtime packages in it',
  },
  azurerm_storage_container: {
    what: 'storage container',
    provider: 'azurerm',
    sources: ['internal/services/storage/storage_container_resource.go'],
    forceNew: ['name', 'default_encryption_scope', 'encryption_scope_override_enabled'],
    forceNewWhen: [
      { path: 'storage_account_id', rule: 'any change, for a container with a Resource Manager ID (every container this provider creates)', forces: () => true },
      { path: 'storage_account_name', rule: 'a change to another account, for a container declared with storage_account_name (a data-plane ID)', forces: (before, after) => isSet(before) && isSet(after) },
    ],
    loses: 'the runtime packages in it',
  },
  azurerm_storage_blob: {
    what: 'storage blob',
    provider: 'azurerm',
    sources: ['internal/services/storage/storage_blob_resource.go'],
    forceNew: ['name', 'storage_account_name', 'storage_container_name', 'type', 'size', 'encryption_scope', 'source', 'source_content', 'source_uri', 'content_md5', 'parallelism'],
  },
  azurerm_shared_image_gallery: {
    what: 'compute gallery',
    provider: 'azurerm',
    sources: ['internal/services/compute/shared_image_gallery_resource.go'],
    forceNew: ['name', 'resource_group_name', 'location', 'sharing'],
    loses: 'every image definition and version in it',
  },
  azurerm_shared_image: {
    what: 'image definition',
    provider: 'azurerm',
    sources: ['internal/services/compute/shared_image_resource.go'],
    forceNew: [
      'name',
      'gallery_name',
      'location',
      'resource_group_name',
      'architecture',
      'os_type',
      'hyper_v_generation',
      'identifier.publisher',
      'identifier.offer',
      'identifier.sku',
      'eula',
      'purchase_plan.name',
      'purchase_plan.publisher',
      'purchase_plan.product',
      'privacy_statement_uri',
      'specialized',
      'trusted_launch_supported',
      'trusted_launch_enabled',
      'confidential_vm_supported',
      'confidential_vm_enabled',
      'accelerated_network_support_enabled',
      'hibernation_enabled',
      'disk_controller_type_nvme_enabled',
    ],
    forceNewWhen: [{ path: 'end_of_life_date', rule: 'removing it once set', forces: (before, after) => Boolean(before) && !after }],
    loses: 'its image versions: groups on them cannot start bots, and no version is left to roll back to',
  },
  azurerm_shared_image_version: {
    what: 'image version',
    provider: 'azurerm',
    sources: ['internal/services/compute/shared_image_version_resource.go'],
    forceNew: [
      'name',
      'gallery_name',
      'image_name',
      'location',
      'resource_group_name',
      'target_region.disk_encryption_set_id',
      'blob_uri',
      'storage_account_id',
      'os_disk_snapshot_id',
      'managed_image_id',
      'replication_mode',
      'deletion_of_replicated_locations_enabled',
    ],
    forceNewWhen: [{ path: 'end_of_life_date', rule: 'removing it once set', forces: (before, after) => Boolean(before) && !after }],
    loses: 'groups on it cannot start bots while it is rebuilt, and it is gone as a rollback target',
  },
  azurerm_log_analytics_workspace: {
    what: 'Log Analytics workspace',
    provider: 'azurerm',
    sources: ['internal/services/loganalytics/log_analytics_workspace_resource.go'],
    forceNew: ['name', 'location', 'resource_group_name'],
    forceNewWhen: [
      {
        path: 'sku',
        rule: 'any change but from LACluster or unset, and between PerGB2018 and CapacityReservation (resourceLogAnalyticsWorkspaceCustomDiff)',
        forces: (before, after) => {
          const [from, to] = [text(before)?.toLowerCase(), text(after)?.toLowerCase()];
          // Unset, or known only at apply time: the provider's computed value is not known here.
          if (from === undefined || to === undefined) return undefined;
          if (from === '' || from === 'lacluster' || from === to) return false;
          return !['capacityreservation>pergb2018', 'pergb2018>capacityreservation'].includes(`${from}>${to}`);
        },
      },
    ],
    loses: "the logs and metrics it holds: the runtime's telemetry, the diagnostics, and what the alert rules query",
  },
  azurerm_application_insights: {
    what: 'Application Insights',
    provider: 'azurerm',
    sources: ['internal/services/applicationinsights/application_insights_resource.go'],
    forceNew: ['name', 'resource_group_name', 'location', 'application_type'],
    loses: 'its connection string changes: the runtime exports to the new one once its app setting is updated',
  },
  azurerm_monitor_diagnostic_setting: {
    what: 'diagnostic setting',
    provider: 'azurerm',
    sources: ['internal/services/monitor/monitor_diagnostic_setting_resource.go'],
    forceNew: ['name', 'target_resource_id'],
  },
  azurerm_monitor_action_group: {
    what: 'alert action group',
    provider: 'azurerm',
    sources: ['internal/services/monitor/monitor_action_group_resource.go'],
    forceNew: ['name', 'resource_group_name', 'location'],
    loses: 'alerts notify nobody until the new group is in their rules',
  },
  azurerm_monitor_scheduled_query_rules_alert_v2: {
    what: 'log search alert rule',
    provider: 'azurerm',
    sources: ['internal/services/monitor/monitor_scheduled_query_rules_alert_v2_resource.go'],
    forceNew: ['name', 'resource_group_name', 'location', 'scopes'],
    loses: 'its fired alerts are closed',
  },
  azurerm_monitor_metric_alert: {
    what: 'metric alert rule',
    provider: 'azurerm',
    sources: ['internal/services/monitor/monitor_metric_alert_resource.go'],
    forceNew: ['name', 'resource_group_name'],
    loses: 'its fired alerts are closed',
  },
  random_password: {
    what: 'generated password',
    provider: 'random',
    sources: [randomPasswordSource],
    forceNew: ['keepers', 'length', 'special', 'upper', 'lower', 'number', 'numeric', 'min_numeric', 'min_upper', 'min_lower', 'min_special'],
    forceNewWhen: [{ path: 'override_special', rule: 'any change but from an empty string to unset', forces: (before, after) => !(before === '' && (after === undefined || after === null)) }],
    loses: NEW_VALUE,
  },
  random_id: {
    what: 'generated ID',
    provider: 'random',
    sources: ['internal/provider/resource_id.go'],
    forceNew: ['keepers', 'byte_length', 'prefix'],
    loses: NEW_VALUE,
  },
};

/** `azurerm internal/services/...go at v4.55.0`: where a reader opens the schema. */
export function sourceCitation(rule: ResourceReplacementRule): string {
  const [repo, tag] = rule.provider === 'azurerm' ? ['hashicorp/terraform-provider-azurerm', AZURERM_SOURCE_TAG] : ['hashicorp/terraform-provider-random', RANDOM_SOURCE_TAG];
  return `${rule.sources.join(', ')} of ${repo} at ${tag}`;
}

/** The row of a resource type, if the table has one. */
export function replacementRule(type: string): ResourceReplacementRule | undefined {
  return Object.prototype.hasOwnProperty.call(FORCE_NEW_ATTRIBUTES, type) ? FORCE_NEW_ATTRIBUTES[type] : undefined;
}

/** True when `path` (blocks joined by '.', no list indexes) is or lies inside one of `paths`. */
export function coveredBy(path: string, paths: readonly string[]): string | undefined {
  return paths.find((p) => path === p || path.startsWith(`${p}.`));
}
