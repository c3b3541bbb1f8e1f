// The built-in `simulated` source (docs/api.md §10): Intune-like policies whose content is a pure function
// of the tenant's slug (stable across databases, so the demo looks the same every time) and the settings.
//
// Model: at revision r the tenant holds the policies with indices r … r+N-1 (N = `policies`). Moving from
// revision k-1 to k removes index k-1, adds index k+N-1, and modifies two of the N-1 survivors (chosen from
// the step's seed); a modification changes one setting of the policy (a boolean flips, a number moves, a
// string takes another value), so each step differs by exactly +1 / −1 / 2 modified (fewer when N < 3).
// Computing revision r costs O(N + r).
//
// apply() accepts and forgets: the content stays a function of the revision (a restore "succeeds" but the
// next sync reads the same policies again), except for `failItems`, which refuse with source_apply_failed.
import { createHash } from 'node:crypto';
import { resolveSimulated, type ResolvedSimulatedSettings } from './schema.ts';
import { SourceError, checked, type ListedItem, type PolicySourceClient, type SourcePolicy } from './source.ts';

export const SIMULATED_PAGE_SIZE = 100;

/** The first revision's policies were all last modified at this instant; each revision is an hour later. */
const EPOCH = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

/** FNV-1a, 32 bits: a seed from a string. */
function seedOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** mulberry32: a small, fast deterministic generator of numbers in [0, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Rng = () => number;
const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1));
const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
const bool = (rng: Rng, p = 0.5) => rng() < p;

type PolicyKind = { type: string; label: string; settings: (rng: Rng) => Record<string, unknown> };

const SEVERITY_ACTIONS = ['clean', 'quarantine', 'remove', 'block', 'allow', 'userDefined'] as const;

const KINDS: PolicyKind[] = [
  {
    type: '#microsoft.graph.windows10GeneralConfiguration',
    label: 'Windows 10 device restrictions',
    settings: (rng) => ({
      passwordRequired: bool(rng, 0.8),
      passwordRequiredType: pick(rng, ['deviceDefault', 'alphanumeric', 'numeric']),
      passwordMinimumLength: int(rng, 6, 14),
      passwordMinutesOfInactivityBeforeScreenTimeout: pick(rng, [5, 10, 15, 30]),
      passwordExpirationDays: pick(rng, [0, 30, 60, 90]),
      defenderRequireRealTimeMonitoring: bool(rng, 0.9),
      defenderScanType: pick(rng, ['userDefined', 'quick', 'full']),
      defenderScheduledScanTime: pick(rng, ['01:00:00', '02:00:00', '03:30:00']),
      defenderDetectedMalwareActions: {
        lowSeverity: pick(rng, SEVERITY_ACTIONS),
        moderateSeverity: pick(rng, SEVERITY_ACTIONS),
        highSeverity: pick(rng, SEVERITY_ACTIONS),
        severeSeverity: pick(rng, SEVERITY_ACTIONS),
      },
      bluetoothBlocked: bool(rng, 0.2),
      cameraBlocked: bool(rng, 0.1),
      edgeBlockPopups: bool(rng, 0.7),
      edgeHomepageUrls: ['https://intranet.contoso.example', ...(bool(rng) ? ['https://portal.contoso.example'] : [])],
      smartScreenEnableAppInstallControl: bool(rng),
      storageRequireMobileDeviceEncryption: bool(rng, 0.8),
      windowsSpotlightBlocked: bool(rng, 0.4),
    }),
  },
  {
    type: '#microsoft.graph.windows10CompliancePolicy',
    label: 'Windows 10 compliance',
    settings: (rng) => ({
      bitLockerEnabled: bool(rng, 0.9),
      secureBootEnabled: bool(rng, 0.9),
      codeIntegrityEnabled: bool(rng, 0.7),
      tpmRequired: bool(rng, 0.8),
      osMinimumVersion: pick(rng, ['10.0.19044', '10.0.19045', '10.0.22621', '10.0.22631']),
      activeFirewallRequired: bool(rng, 0.9),
      defenderEnabled: bool(rng, 0.9),
      antivirusRequired: bool(rng, 0.9),
      deviceThreatProtectionEnabled: bool(rng, 0.5),
      deviceThreatProtectionRequiredSecurityLevel: pick(rng, ['unavailable', 'secured', 'low', 'medium', 'high']),
      passwordRequired: bool(rng, 0.8),
      passwordMinimumLength: int(rng, 6, 14),
      validOperatingSystemBuildRanges: [{ lowestVersion: '10.0.19045.0', highestVersion: pick(rng, ['10.0.19045.9999', '10.0.22631.9999']), description: 'Supported builds' }],
    }),
  },
  {
    type: '#microsoft.graph.iosCompliancePolicy',
    label: 'iOS compliance',
    settings: (rng) => ({
      passcodeRequired: bool(rng, 0.9),
      passcodeBlockSimple: bool(rng, 0.8),
      passcodeRequiredType: pick(rng, ['deviceDefault', 'alphanumeric', 'numeric']),
      passcodeMinimumLength: int(rng, 4, 8),
      passcodeExpirationDays: pick(rng, [0, 45, 90, 180]),
      passcodeMinutesOfInactivityBeforeLock: pick(rng, [1, 2, 5, 15]),
      osMinimumVersion: pick(rng, ['16.0', '16.7', '17.0', '17.4']),
      securityBlockJailbrokenDevices: bool(rng, 0.95),
      deviceThreatProtectionEnabled: bool(rng, 0.4),
      deviceThreatProtectionRequiredSecurityLevel: pick(rng, ['unavailable', 'secured', 'low', 'medium', 'high']),
      managedEmailProfileRequired: bool(rng, 0.3),
      restrictedApps: bool(rng, 0.5) ? [{ name: 'Unapproved Messenger', appId: 'com.example.messenger' }] : [],
    }),
  },
  {
    type: '#microsoft.graph.iosGeneralDeviceConfiguration',
    label: 'iOS device restrictions',
    settings: (rng) => ({
      cameraBlocked: bool(rng, 0.1),
      appStoreBlocked: bool(rng, 0.2),
      iCloudBlockBackup: bool(rng, 0.5),
      iCloudBlockDocumentSync: bool(rng, 0.5),
      airDropBlocked: bool(rng, 0.4),
      safariBlockAutofill: bool(rng, 0.3),
      safariCookieSettings: pick(rng, ['browserDefault', 'blockAlways', 'allowCurrentWebSite', 'allowFromWebsitesVisited']),
      passcodeRequired: bool(rng, 0.9),
      passcodeMinimumLength: int(rng, 4, 8),
      kioskModeAppStoreUrl: null,
      appsSingleAppModeList: bool(rng, 0.2) ? [{ name: 'Field Service', appId: 'com.contoso.fieldservice', publisher: 'Contoso' }] : [],
    }),
  },
  {
    type: '#microsoft.graph.androidWorkProfileGeneralDeviceConfiguration',
    label: 'Android work profile',
    settings: (rng) => ({
      passwordBlockFingerprintUnlock: bool(rng, 0.2),
      passwordMinimumLength: int(rng, 4, 12),
      passwordRequiredType: pick(rng, ['deviceDefault', 'lowSecurityBiometric', 'required', 'atLeastNumeric', 'numericComplex', 'alphanumeric']),
      workProfileBlockCamera: bool(rng, 0.1),
      workProfileBlockScreenCapture: bool(rng, 0.6),
      workProfileBlockCrossProfileCopyPaste: bool(rng, 0.7),
      workProfileDataSharingType: pick(rng, ['deviceDefault', 'preventAny', 'allowPersonalToWork', 'noRestrictions']),
      workProfileDefaultAppPermissionPolicy: pick(rng, ['deviceDefault', 'prompt', 'autoGrant', 'autoDeny']),
      workProfilePasswordMinimumLength: int(rng, 4, 12),
      securityRequireVerifyApps: bool(rng, 0.9),
      vpnAlwaysOnPackageIdentifier: pick(rng, ['com.contoso.vpn', 'com.example.tunnel', '']),
    }),
  },
  {
    type: '#microsoft.graph.macOSCompliancePolicy',
    label: 'macOS compliance',
    settings: (rng) => ({
      passwordRequired: bool(rng, 0.9),
      passwordMinimumLength: int(rng, 8, 16),
      passwordMinutesOfInactivityBeforeLock: pick(rng, [5, 10, 15]),
      osMinimumVersion: pick(rng, ['13.0', '13.6', '14.0', '14.4']),
      systemIntegrityProtectionEnabled: bool(rng, 0.95),
      storageRequireEncryption: bool(rng, 0.9),
      firewallEnabled: bool(rng, 0.9),
      firewallBlockAllIncoming: bool(rng, 0.2),
      firewallEnableStealthMode: bool(rng, 0.5),
      gatekeeperAllowedAppSource: pick(rng, ['notConfigured', 'macAppStore', 'macAppStoreAndIdentifiedDevelopers', 'anywhere']),
    }),
  },
];

const TEAMS = ['Finance', 'Sales', 'Engineering', 'HR', 'Kiosks', 'Executives', 'Field staff', 'Contractors', 'Support', 'Warehouse'];
const WORDS = ['notConfigured', 'required', 'blocked', 'allowed', 'enabled', 'disabled', 'prompt', 'deviceDefault'];

/** Every leaf of a settings object a modification may change (booleans, numbers, strings), in key order. */
function leafPaths(value: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') out.push(path);
  else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) leafPaths(item, [...path, key], out);
  return out;
}

/** Changes one leaf of `settings` in place; the new value always differs from the old. */
function modify(settings: Record<string, unknown>, rng: Rng, step: number): void {
  const paths = leafPaths(settings);
  if (paths.length === 0) return;
  const path = pick(rng, paths);
  let parent = settings as Record<string, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  const key = path[path.length - 1]!;
  const old = parent[key];
  if (typeof old === 'boolean') parent[key] = !old;
  else if (typeof old === 'number') parent[key] = old + int(rng, 1, 5);
  else if (typeof old === 'string' && WORDS.includes(old)) parent[key] = pick(rng, WORDS.filter((w) => w !== old));
  else parent[key] = `${String(old).replace(/ \(r\d+\)$/, '')} (r${step})`;
}

/** A UUID-shaped external id derived from the tenant and the policy index (stable forever). */
export function simulatedExternalId(slug: string, index: number): string {
  const hex = createHash('sha256').update(`runboard-simulated:${slug}:${index}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

type Modifications = Map<number, { count: number; lastStep: number }>;

/** Which policies the steps 1 … revision modified, counted for those still present at `revision`. */
function modifications(slug: string, policies: number, revision: number): Modifications {
  const mods: Modifications = new Map();
  const survivors = policies - 1;
  for (let step = 1; step <= revision && survivors > 0; step++) {
    const rng = random(seedOf(`${slug}|step|${step}`));
    const first = Math.floor(rng() * survivors);
    const picks = survivors === 1 ? [first] : [first, (first + 1 + Math.floor(rng() * (survivors - 1))) % survivors];
    for (const offset of picks) {
      const index = step + offset; // survivors of the step are indices step … step+N-2
      if (index < revision) continue; // removed again before `revision`
      const entry = mods.get(index) ?? { count: 0, lastStep: 0 };
      entry.count += 1;
      entry.lastStep = step;
      mods.set(index, entry);
    }
  }
  return mods;
}

/** The simulated source of one tenant with the given settings. */
export class SimulatedSource implements PolicySourceClient {
  readonly settings: ResolvedSimulatedSettings;
  private readonly failing: Set<string>;
  private mods: Modifications | undefined;
  private ids: Map<string, number> | undefined;

  constructor(
    private readonly slug: string,
    settings: Parameters<typeof resolveSimulated>[0],
  ) {
    this.settings = resolveSimulated(settings);
    this.failing = new Set(this.settings.failItems);
  }

  async *list(signal?: AbortSignal): AsyncIterable<ListedItem[]> {
    this.ensureAvailable();
    const { revision, policies } = this.settings;
    for (let start = revision; start < revision + policies; start += SIMULATED_PAGE_SIZE) {
      signal?.throwIfAborted();
      const end = Math.min(start + SIMULATED_PAGE_SIZE, revision + policies);
      const page: ListedItem[] = [];
      for (let index = start; index < end; index++) page.push(this.entry(index));
      yield page;
    }
  }

  async get(externalId: string, signal?: AbortSignal): Promise<ListedItem> {
    signal?.throwIfAborted();
    this.ensureAvailable();
    const index = this.indexOf(externalId);
    if (index === undefined) return { ok: false, externalId, code: 'policy_not_found', message: 'The policy does not exist at the source (any more).' };
    return this.entry(index);
  }

  async apply(policy: Pick<SourcePolicy, 'externalId' | 'policyType' | 'name' | 'settings'>, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.ensureAvailable();
    if (this.failing.has(policy.externalId)) {
      throw new SourceError('source_apply_failed', `The simulated source refused to write policy ${policy.externalId} (it is in failItems).`);
    }
  }

  /** The policy with this index as the current revision has it (no failItems applied). */
  policy(index: number): SourcePolicy {
    const rng = random(seedOf(`${this.slug}|policy|${index}`));
    const kind = pick(rng, KINDS);
    const settings = kind.settings(rng);
    const mod = this.modifications().get(index);
    for (let m = 1; m <= (mod?.count ?? 0); m++) modify(settings, random(seedOf(`${this.slug}|policy|${index}|mod|${m}`)), m);
    const added = Math.max(0, index - this.settings.policies + 1);
    const changed = Math.max(added, mod?.lastStep ?? 0);
    return {
      externalId: simulatedExternalId(this.slug, index),
      name: `${kind.label} – ${TEAMS[index % TEAMS.length]} ${String(index + 1).padStart(3, '0')}`,
      policyType: kind.type,
      lastModified: new Date(EPOCH + changed * HOUR + (index % 60) * 60_000).toISOString(),
      settings,
    };
  }

  private entry(index: number): ListedItem {
    const externalId = simulatedExternalId(this.slug, index);
    if (this.failing.has(externalId)) {
      return { ok: false, externalId, code: 'source_item_unreadable', message: 'The simulated source could not read this policy (it is in failItems).' };
    }
    return checked(this.policy(index));
  }

  private ensureAvailable(): void {
    if (this.settings.unavailable) throw new SourceError('source_unavailable', 'The simulated source is unavailable (its settings say unavailable: true).');
  }

  private modifications(): Modifications {
    return (this.mods ??= modifications(this.slug, this.settings.policies, this.settings.revision));
  }

  private indexOf(externalId: string): number | undefined {
    if (!this.ids) {
      this.ids = new Map();
      const { revision, policies } = this.settings;
      for (let index = revision; index < revision + policies; index++) this.ids.set(simulatedExternalId(this.slug, index), index);
    }
    return this.ids.get(externalId);
  }
}
