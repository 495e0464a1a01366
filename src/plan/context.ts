/**
 * The contract between the launch-plan builder (build.ts) and the mechanisms
 * (src/mechanisms/*-plan.ts): a mechanism is a Fragment that declares which
 * model fields it enforces and turns them into launch steps.
 */
import type { ArchInfo } from '../sys/arch/types.js';
import type { Step } from '../launch/plan.js';
import type { ServiceView } from './service.js';

/** The credentials a service runs with (User=/Group=/DynamicUser=), resolved before any fragment runs. */
export interface Identity {
  readonly user: string;
  readonly uid: number;
  readonly group: string;
  readonly gid: number;
  /** SupplementaryGroups= resolved, in order, without duplicates. */
  readonly supplementaryGids: readonly number[];
  readonly home: string;
  readonly shell: string;
  readonly dynamic: boolean;
}

/** One Runtime/State/Cache/Logs/ConfigurationDirectory= entry, created by the supervisor before launch. */
export interface ExecDirectory {
  readonly kind: 'runtime' | 'state' | 'cache' | 'logs' | 'configuration';
  /** Where it lives on the host (/var/lib/private/foo for a DynamicUser state dir). */
  readonly hostPath: string;
  /** Where the service sees it (/var/lib/foo). */
  readonly path: string;
}

/** An Exec*= command as the model stores it. */
export interface ExecCommand {
  readonly argv: readonly string[];
  readonly path?: string;
  readonly ignore_failure?: boolean;
  readonly no_env_expand?: boolean;
  /** `+` full, `!` no-setuid, `!!` no-setuid-ambient. */
  readonly privileged?: 'full' | 'no-setuid' | 'no-setuid-ambient';
}

export interface BuildContext {
  readonly svc: ServiceView;
  readonly command: ExecCommand;
  readonly arch: ArchInfo;
  /** The supervisor runs with euid 0 and CAP_SYS_ADMIN (decides e.g. systemd's implied NoNewPrivileges). */
  readonly supervisorPrivileged: boolean;
  /** The service's credentials; undefined when it runs as the supervisor's user (no User=, or a `!`/`+` command). */
  readonly identity: Identity | undefined;
  /** False for `+` commands: no sandboxing at all (systemd's "full privileges"). */
  readonly sandbox: boolean;
  readonly execDirectories: readonly ExecDirectory[];
  /**
   * The service's cgroup directories (one per hierarchy: the v2 one and each v1
   * controller sysg uses), created by the supervisor before launch; the child
   * joins them. Undefined when the service is not put in its own cgroup.
   */
  readonly cgroupDirs: readonly string[] | undefined;
  /** $CREDENTIALS_DIRECTORY when LoadCredential=/SetCredential= are used. */
  readonly credentialsDirectory: string | undefined;
  /** A note the user sees once per launch (e.g. a directive systemd itself would ignore here). */
  warn(field: string, message: string): void;
}

/** A step and the model field (dotted path) it enforces: failures name that field's directive and file:line. */
export interface PlannedStep {
  readonly step: Step;
  readonly field: string;
}

export interface Fragment {
  readonly name: string;
  /**
   * Model fields this mechanism enforces (dotted paths; a path covers
   * everything below it). A requested field that no fragment and no
   * supervisor stage covers makes the launch refuse to start (fail closed).
   */
  readonly fields: readonly string[];
  /** Throws ModelError (service.ts) for values it cannot enforce. */
  build(ctx: BuildContext): PlannedStep[];
}
