import { Object as DataType, Property } from 'fabric-contract-api';

/**
 * A member organisation of the consortium, registered on the ledger (not fixed in the chaincode): its MSP id and
 * what it is in the consortium. The chaincode's rules name these roles, never MSP ids, so a second provincial
 * trading center joins by registration.
 */

/** What an organisation is in the consortium. */
export const ORGANISATION_ROLES = ['PLATFORM_OPERATOR', 'TRADING_CENTER', 'REGULATOR'] as const;
export type OrganisationRole = (typeof ORGANISATION_ROLES)[number];

/** PROPOSED until a strict majority of the ACTIVE members has approved it; then ACTIVE. */
export const ORGANISATION_STATUSES = ['PROPOSED', 'ACTIVE'] as const;
export type OrganisationStatus = (typeof ORGANISATION_STATUSES)[number];

@DataType()
export class MemberOrganisation {
  @Property()
  mspId!: string;

  @Property()
  role!: OrganisationRole;

  @Property()
  name!: string;

  @Property()
  status!: OrganisationStatus;

  /** MSP ids of the members that approved the admission (the proposer first, then in approval order). */
  @Property('approvals', 'string[]')
  approvals!: string[];

  @Property()
  proposedAt!: string;

  @Property()
  proposedTxId!: string;

  /** When it became ACTIVE ('' while PROPOSED). */
  @Property()
  admittedAt!: string;

  @Property()
  admittedTxId!: string;
}

@DataType()
export class Consortium {
  /** False until `consortium:InitConsortium` has registered the founding members. */
  @Property()
  initialised!: boolean;

  /** Every organisation, members and proposals, ordered by MSP id. */
  @Property('organisations', 'MemberOrganisation[]')
  organisations!: MemberOrganisation[];

  @Property()
  initialisedAt!: string;

  @Property()
  initialisedTxId!: string;

  /** x509 identity of the admin that registered the founding members. */
  @Property()
  initialisedBy!: string;
}

/** The ACTIVE member with this MSP id, if any. */
export function activeMember(consortium: Consortium, mspId: string): MemberOrganisation | undefined {
  return consortium.organisations.find((o) => o.mspId === mspId && o.status === 'ACTIVE');
}

export function activeMembers(consortium: Consortium): MemberOrganisation[] {
  return consortium.organisations.filter((o) => o.status === 'ACTIVE');
}
