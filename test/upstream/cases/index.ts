import type { NotRunnable, UpstreamCase } from '../types.js'
import { condaStoreCases } from './conda-store.js'
import { jupyterhubRolesCases } from './jupyterhub-roles.js'
import { jupyterhubScopesCases } from './jupyterhub-scopes.js'
import { nebariCases } from './nebari.js'

/** Every ported case, grouped by upstream file. */
export const allCases: readonly UpstreamCase<any>[] = [...jupyterhubScopesCases, ...jupyterhubRolesCases, ...condaStoreCases, ...nebariCases]

const MODELS = 'they check the JSON models the hub serves (which keys a scope reveals); we decide access, we do not serialize hub models'
const HUB_LIFECYCLE = "they exercise the hub's database and configuration lifecycle (role storage, config loading, upgrades); we hold no role store"

/** Upstream tests in the files we port that we do not run, and why (docs/semantics/upstream-parity.md). */
export const notRunnable: readonly NotRunnable[] = [
  { file: 'jupyterhub/jupyterhub jupyterhub/tests/test_scopes.py', tests: ['test_by_fake_user'], why: "a token of a deleted user: token lookup in the hub's database" },
  {
    file: 'jupyterhub/jupyterhub jupyterhub/tests/test_scopes.py',
    tests: ['test_vertical_filter', 'test_stacked_vertical_filter', 'test_cross_filter', 'test_service_model_filtering (3)', 'test_group_model_filtering (3)', 'test_roles_access', 'test_server_state_access (5)'],
    why: MODELS,
  },
  {
    file: 'jupyterhub/jupyterhub jupyterhub/tests/test_scopes.py',
    tests: ['test_resolve_requested_scopes (5)'],
    why: "OAuth authorization-request resolution (`_resolve_requested_scopes`, the hub's OAuth provider) is not part of our API",
  },
  { file: 'jupyterhub/jupyterhub jupyterhub/tests/test_roles.py', tests: ['test_get_new_token_via_api[non-existing]'], why: "a role name missing from the hub's role table: a database lookup" },
  {
    file: 'jupyterhub/jupyterhub jupyterhub/tests/test_roles.py',
    tests: [
      'test_orm_roles', 'test_orm_roles_delete_cascade', 'test_load_default_roles', 'test_creating_roles (8)', 'test_delete_roles (3)', 'test_load_roles_users (2)',
      'test_load_roles_services', 'test_load_roles_groups', 'test_load_roles_user_tokens', 'test_server_token_role', 'test_oauth_client_allowed_scopes',
      'test_user_group_roles', 'test_config_role_list', 'test_config_role_users', 'test_duplicate_role_users', 'test_admin_role_and_flag', 'test_custom_role_reset',
      'test_removal_config_to_db', 'test_no_admin_role_change', 'test_user_role_from_config (3)', 'test_user_config_creates_default_role',
      'test_admin_role_respects_config', 'test_admin_role_membership (4)', 'test_manage_roles_disallows_role_assignment (3)', 'test_manage_roles_allows_using_load_roles (3)',
      'test_manage_roles_loads_default_roles', 'test_reset_managed_roles_clears_assignments', 'test_reset_managed_roles_clears_managed_roles', 'test_no_default_service_role',
      'test_hub_upgrade_detection', 'test_login_default_role',
    ],
    why: HUB_LIFECYCLE,
  },
  {
    file: 'conda-incubator/conda-store conda-store-server/tests/server/test_auth.py',
    tests: ['test_authenticated (2)', 'test_valid_token', 'test_expired_token'],
    why: "conda-store's own HS256 tokens (AuthenticationBackend.secret): we read Keycloak tokens with jose and never mint or decode conda-store's",
  },
  { file: 'conda-incubator/conda-store conda-store-server/tests/server/test_auth.py', tests: ['test_post_logout_method_default_next', 'test_auth_no_ui'], why: 'login/logout HTTP routes of the server' },
  {
    file: 'conda-incubator/conda-store conda-store-server/tests/_internal/server/views/test_api.py',
    tests: ['test_api_list_environments_paginate_order_by (12)', 'test_api_list_environments_paginate', 'test_api_list_environments_invalid_query_params'],
    why: "server-side v2 pagination; our REST client's cursor loop is tested against the fake in upstream's shape (test/conda-store/client.test.ts)",
  },
  {
    file: 'conda-incubator/conda-store conda-store-server/tests/_internal/server/views/test_api.py',
    tests: [
      'test_deprecation_warning', 'test_api_version_unauth', 'test_get_usage_unauth', 'test_get_usage_auth', 'test_api_list_namespace_including_missing_metadata_',
      'test_api_list_builds_*', 'test_api_get_build_*', 'test_api_list_conda_channels_unauth', 'test_api_list_conda_packages_unauth', 'test_create_specification_*',
      'test_put_build_trigger_build_*', 'test_create_namespace_*', 'test_create_get_delete_namespace_auth', 'test_update_environment_build_*', 'test_delete_environment_*',
      'test_delete_build_*', 'test_get_settings_*', 'test_put_*settings*', 'test_default_conda_store_dir',
    ],
    why: 'builds, packages, settings, specifications and server metadata: server behaviour outside permissions',
  },
  {
    file: 'conda-incubator/conda-store conda-store-server/tests/test_api.py',
    tests: ['test_namespace_crud', 'test_environment_crud', 'test_get_set_keyvaluestore', 'test_get_kvstore_key_dne', 'test_build_path_too_long'],
    why: 'database CRUD and build paths',
  },
  {
    file: 'nebari-dev/nebari tests/tests_deployment/test_jupyterhub_api.py',
    tests: ['test_jupyterhub_loads_roles_from_keycloak', 'test_default_user_role_scopes', 'test_check_default_roles_added_in_keycloak', 'test_check_directory_creation_scope_attributes', 'test_groups_with_mount_permissions', 'test_jupyterhub_loads_groups_from_keycloak'],
    why: "a live deployment's Keycloak configuration (role and group names Nebari's Terraform creates), not role-loading logic; the example realm's equivalents are checked in test/conda-store/example-realm.test.ts",
  },
]
