/**
 * A gateway of a member that joins a running consortium (JOINING_MSPS: the second trading center) starts only
 * on a channel that admits its organisation. Founders are in the channel from block 0; a joining member is in it
 * only after a channel update signed by a majority of the members (network/scripts/addOrg.sh on Fabric, a
 * channel update on the embedded ledger). Without this check its gateway would start, answer ready, and fail
 * every write with an identity the peers do not know.
 */
import type { Logger } from '@nestjs/common';
import { chaincodeRefusal } from '../common/ledger-errors';
import type { LedgerPort } from '../ledger/port';
import { JOINING_MSPS, gatewayIdentity, type GatewayOrganisation } from './consortium';

/** The organisation is not a member of the channel the gateway is pointed at. */
export class OrganisationNotInChannelError extends Error {
  override readonly name = 'OrganisationNotInChannelError';
}

export async function checkJoinedMember(
  ledger: LedgerPort,
  organisation: GatewayOrganisation,
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  if (!(JOINING_MSPS as readonly string[]).includes(organisation)) return;
  const identity = gatewayIdentity(organisation);
  try {
    await ledger.evaluate({ identity, transaction: 'consortium:GetConsortium' });
  } catch (error) {
    const refusal = chaincodeRefusal(error);
    if (refusal) {
      // The peers accepted the identity and the chaincode answered: the organisation is in the channel, and
      // its registration on chain (ProposeOrganisation, ApproveOrganisation) is still to come.
      logger.warn(
        `${organisation} is in the channel but not yet an active member of the consortium (${refusal.code}): ` +
          'its writes are refused until a strict majority of the members approved it (consortium:ApproveOrganisation)',
      );
      return;
    }
    throw new OrganisationNotInChannelError(
      `${organisation} is not a member of this channel: the ledger refused its identity ` +
        `${identity.mspId}/${identity.name} (${(error as Error).message}). A joining member's gateway starts once a ` +
        'channel update signed by a majority of the members added its MSP (network/scripts/addOrg.sh; on the ' +
        'embedded ledger EmbeddedLedger.submitChannelUpdate, README "Adding a member on the embedded ledger")',
    );
  }
}
