/**
 * JSON Schema of systemg's own manifest (../shared/reference/systemg.md §1), the
 * base that sysg's schema extends. systemg silently drops typos in most blocks;
 * here every object is closed (`additionalProperties: false`) except `env`, whose
 * extra keys are environment variables by systemg's design.
 */
export type JsonSchema = { [key: string]: unknown };

export const systemgDuration: JsonSchema = {
  description: 'systemg duration: a whole number with ms, s, m or h (a bare number is seconds)',
  anyOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^\\+?[0-9]+(ms|s|m|h)?$' },
  ],
};

const sizeOrUnlimited: JsonSchema = {
  anyOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^([0-9][0-9_]*([KMGT]B?|B)?|unlimited|infinity)$' },
  ],
};

const command: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['command'],
  properties: { command: { type: 'string' }, timeout: systemgDuration },
};

const healthCheck: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    url: { type: 'string' },
    command: { type: 'string' },
    interval: systemgDuration,
    attempt_timeout: systemgDuration,
    total_timeout: systemgDuration,
    timeout: systemgDuration,
    retries: { type: 'integer', minimum: 0 },
    slot: { type: 'string' },
  },
};

export const envSchema: JsonSchema = {
  type: 'object',
  description: 'Environment. Keys other than the listed ones are variables (systemg flattens them into vars).',
  properties: {
    file: { type: 'string', description: 'systemg: one KEY=VALUE file, relative to the manifest directory' },
    vars: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] }, propertyNames: { pattern: '^[^=\\x00]+$' } },
    clear_session_vars: { type: 'boolean' },
    strip: { type: 'array', items: { type: 'string' } },
    inherit_env: { type: 'boolean' },
  },
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
  additionalProperties: { type: ['string', 'number', 'boolean'] },
};

export const logsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sink: { enum: ['file', 'none'] },
    max_bytes: sizeOrUnlimited,
    max_files: { type: 'integer', minimum: 0 },
  },
};

/** systemg's per-service fields; sysg adds its own beside them (src/model/schema.ts). */
export function systemgServiceProperties(): Record<string, JsonSchema> {
  return {
    command: { type: 'string', description: 'Run as `sh -c <command>`' },
    exec: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'argv, no shell' },
    working_dir: { type: 'string' },
    env: structuredClone(envSchema),
    user: { type: 'string' },
    group: { type: 'string' },
    supplementary_groups: { type: 'array', items: { type: 'string' } },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        nofile: sizeOrUnlimited,
        nproc: sizeOrUnlimited,
        memlock: sizeOrUnlimited,
        nice: { type: 'integer', minimum: -20, maximum: 19 },
        cpu_affinity: { type: 'array', items: { type: 'integer', minimum: 0 } },
        cgroup: {
          type: 'object',
          additionalProperties: false,
          properties: {
            root: { type: 'string' },
            memory_max: { type: ['string', 'integer'] },
            cpu_max: { type: 'string', description: 'verbatim cpu.max: "QUOTA PERIOD" or "max PERIOD"' },
            cpu_weight: { anyOf: [{ type: 'integer', minimum: 1, maximum: 10000 }, { const: 'idle' }] },
          },
        },
      },
    },
    capabilities: { type: 'array', items: { type: 'string', pattern: '^CAP_[A-Z_]+$' }, description: 'systemg: keep exactly these capabilities (bounding, permitted, effective, inheritable and ambient)' },
    isolation: {
      type: 'object',
      additionalProperties: false,
      properties: {
        network: { type: 'boolean' },
        mount: { type: 'boolean' },
        pid: { type: 'boolean' },
        user: { type: 'boolean' },
        seccomp: { enum: ['baseline-v1'] },
        landlock: {
          type: 'object',
          additionalProperties: false,
          properties: { ro_paths: { type: 'array', items: { type: 'string' } }, rw_paths: { type: 'array', items: { type: 'string' } } },
        },
        apparmor_profile: { type: 'string' },
        selinux_context: { type: 'string' },
        private_devices: { type: 'boolean' },
        private_tmp: { type: 'boolean' },
      },
    },
    restart_policy: {
      enum: ['never', 'no', 'always', 'on-success', 'on-failure', 'on-abnormal', 'on-abort', 'on-watchdog'],
      description: "systemg's never/on-failure/always plus systemd's Restart= values ('always' really always restarts)",
    },
    backoff: systemgDuration,
    max_restarts: { type: 'integer', minimum: 0 },
    depends_on: {
      type: 'array',
      items: {
        anyOf: [
          { type: 'string' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['service'],
            properties: { service: { type: 'string' }, condition: { enum: ['started', 'completed'] } },
          },
        ],
      },
    },
    deployment: {
      type: 'object',
      additionalProperties: false,
      properties: {
        strategy: { enum: ['rolling', 'immediate'] },
        pre_start: { type: 'string' },
        health_check: healthCheck,
        grace_period: systemgDuration,
        blue_green: {
          type: 'object',
          additionalProperties: false,
          properties: {
            env_var: { type: 'string' },
            slots: { type: 'array', items: { type: ['string', 'integer'] } },
            switch_command: { type: 'string' },
            candidate_health_check: healthCheck,
            switch_verify: { type: 'string' },
            state_path: { type: 'string' },
          },
        },
      },
    },
    hooks: { type: 'object', additionalProperties: false, properties: { onstart: command, onerr: command } },
    cron: {
      type: 'object',
      additionalProperties: false,
      required: ['expression'],
      properties: { expression: { type: 'string' }, timezone: { type: 'string' } },
    },
    skip: { type: ['boolean', 'string'] },
    spawn: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: ['static', 'dynamic'] },
        limits: {
          type: 'object',
          additionalProperties: false,
          properties: {
            children: { type: 'integer', minimum: 0 },
            depth: { type: 'integer', minimum: 0 },
            descendants: { type: 'integer', minimum: 0 },
            total_memory: sizeOrUnlimited,
            termination_policy: { enum: ['cascade', 'orphan', 'reparent'] },
          },
        },
      },
    },
    logs: structuredClone(logsSchema),
  };
}

/** Top-level keys of a systemg manifest (services/projects filled in by the caller). */
export function systemgTopLevelProperties(service: JsonSchema): Record<string, JsonSchema> {
  const services: JsonSchema = { type: 'object', additionalProperties: service, propertyNames: { minLength: 1 } };
  return {
    version: { enum: ['2', '3', 2, 3], description: 'Manifest version; "3" = unenforceable security keys refuse the service' },
    projects: {
      type: 'object',
      propertyNames: { pattern: '^(?!\\.\\.?$)(?!__loose__$)(?!none$)[A-Za-z0-9_.-]+$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['services'],
        properties: { name: { type: 'string' }, services, env: structuredClone(envSchema), logs: structuredClone(logsSchema) },
      },
    },
    project: {
      anyOf: [
        { type: 'string' },
        { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string' }, name: { type: 'string' } } },
      ],
    },
    services,
    env: structuredClone(envSchema),
    logs: structuredClone(logsSchema),
    status: {
      type: 'object',
      additionalProperties: false,
      properties: { snapshot_mode: { enum: ['off', 'summary', 'detailed'] }, snapshot_interval_secs: { type: 'integer', minimum: 1, maximum: 300 } },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      properties: {
        retention_minutes: { type: 'integer', minimum: 0 },
        sample_interval_secs: { type: 'integer', minimum: 1, maximum: 60 },
        max_memory_bytes: sizeOrUnlimited,
        spillover_path: { type: 'string' },
        spillover_max_bytes: sizeOrUnlimited,
        spillover_segment_bytes: sizeOrUnlimited,
      },
    },
    project_dir: { type: 'string', description: 'Ignored: always the manifest directory (as in systemg)' },
  };
}
