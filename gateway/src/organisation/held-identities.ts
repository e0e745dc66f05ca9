/**
 * The Fabric identities a gateway instance holds, and the check that they are all its organisation's.
 *
 * On a Fabric network they are what its wallet holds (`<FABRIC_WALLET>/<mspId>/<name>/cert.pem`); each
 * certificate says whether the identity is an admin (NodeOU `admin`, or `gec.role` admin) and which `gec.role`
 * it carries, read as the chaincode reads them. On the embedded ledger they are the embedded consortium's
 * (its CA enrols them all in one process); a single-organisation gateway there uses its organisation's only,
 * and the ledger port refuses any other (organisation-ledger.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ORGS, readCertificateInfo, type OrgSpec } from '../ledger/embedded/msp';
import type { IdentityRef } from '../ledger/port';
import { heldOrganisations, type GatewayOrganisation } from './consortium';

const ROLE_ATTRIBUTE = 'gec.role';

export interface HeldIdentity {
  mspId: string;
  name: string;
  /** An administrator of its organisation (NodeOU admin or `gec.role` admin): for admin API keys only. */
  admin: boolean;
  /** The `gec.role` attribute of its certificate (null when it has none). */
  gecRole: string | null;
}

/** The gateway must not start with this wallet; the message says what to fix. */
export class WalletOrganisationError extends Error {
  override readonly name = 'WalletOrganisationError';
}

const isDirectory = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** Every identity of the wallet folder (`<mspId>/<name>/cert.pem`), its certificate read. */
export function walletIdentities(walletDir: string): HeldIdentity[] {
  if (!isDirectory(walletDir)) {
    throw new WalletOrganisationError(`FABRIC_WALLET ${walletDir} is not a folder`);
  }
  const identities: HeldIdentity[] = [];
  for (const mspId of readdirSync(walletDir).sort()) {
    if (mspId.startsWith('.') || !isDirectory(join(walletDir, mspId))) continue;
    for (const name of readdirSync(join(walletDir, mspId)).sort()) {
      const folder = join(walletDir, mspId, name);
      if (name.startsWith('.') || !isDirectory(folder)) continue;
      const certFile = join(folder, 'cert.pem');
      let pem: string;
      try {
        pem = readFileSync(certFile, 'utf8');
      } catch {
        // A folder without a certificate holds no usable identity (a private key alone signs for nobody the
        // peers accept); anything the gateway would sign with has its cert.pem beside key.pem.
        continue;
      }
      let info;
      try {
        info = readCertificateInfo(pem);
      } catch (error) {
        throw new WalletOrganisationError(
          `the wallet's ${certFile} is not a readable certificate: ${(error as Error).message}`,
        );
      }
      const gecRole = info.attrs[ROLE_ATTRIBUTE] ?? null;
      identities.push({
        mspId,
        name,
        admin: info.organizationalUnits.includes('admin') || gecRole === 'admin',
        gecRole,
      });
    }
  }
  return identities;
}

/** The identities the embedded ledger enrols (peers and orderers sign blocks and endorsements, not requests). */
export function embeddedIdentities(orgs: readonly OrgSpec[] = DEFAULT_ORGS): HeldIdentity[] {
  return orgs.flatMap((org) =>
    org.identities
      .filter((identity) => identity.role === 'admin' || identity.role === 'client')
      .map((identity) => {
        const gecRole = identity.attrs?.[ROLE_ATTRIBUTE] ?? null;
        return {
          mspId: org.mspId,
          name: identity.name,
          admin: identity.role === 'admin' || gecRole === 'admin',
          gecRole,
        };
      }),
  );
}

/**
 * Refuses a wallet that would let a single-organisation gateway sign as another organisation, or that holds
 * nothing of its own: mount only the organisation's wallet (network/build/wallets/<MSP>).
 */
export function checkWalletOrganisation(
  walletDir: string,
  organisation: GatewayOrganisation,
  identities: readonly HeldIdentity[],
): void {
  if (organisation === 'all') return;
  const foreign = identities.filter((identity) => identity.mspId !== organisation);
  if (foreign.length > 0) {
    const names = foreign.map((identity) => `${identity.mspId}/${identity.name}`).join(', ');
    throw new WalletOrganisationError(
      `FABRIC_WALLET ${walletDir} holds identities of other organisations (${names}); this gateway is ` +
        `${organisation}'s (GEC_ORGANISATION) and may hold ${organisation} identities only: mount only ` +
        `${organisation}'s wallet (network/build/wallets/${organisation})`,
    );
  }
  if (identities.length === 0) {
    throw new WalletOrganisationError(
      `FABRIC_WALLET ${walletDir} holds no ${organisation} identity (expected ${organisation}/<name>/cert.pem ` +
        `and key.pem)`,
    );
  }
}

/** The identities this gateway may use: its organisation's (all of them in the development consortium). */
export class HeldIdentities {
  private readonly byRef: Map<string, HeldIdentity>;

  constructor(
    readonly organisation: GatewayOrganisation,
    identities: readonly HeldIdentity[],
  ) {
    const organisations: readonly string[] = heldOrganisations(organisation);
    this.byRef = new Map(
      identities
        .filter((identity) => organisations.includes(identity.mspId))
        .map((identity) => [`${identity.mspId}/${identity.name}`, identity]),
    );
  }

  /** The held identity `ref` names, or undefined when this gateway holds no such identity. */
  find(ref: IdentityRef): HeldIdentity | undefined {
    return this.byRef.get(`${ref.mspId}/${ref.name}`);
  }

  get all(): HeldIdentity[] {
    return [...this.byRef.values()];
  }
}
