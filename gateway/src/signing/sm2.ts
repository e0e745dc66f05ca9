import { randomBytes } from 'node:crypto';
import { sm2Sign as sm2SignWith } from '@gec/chaincode';

/**
 * SM2/SM3 for the gateway: the verification is the chaincode's own (`chaincode/src/lib/sm2.ts`), so the gateway
 * and every endorsing peer reach the same verdict on the same bytes; signing (for tools and tests that play a
 * trading center) adds the random nonce the chaincode module deliberately does not have.
 */
export { SM2_DEFAULT_ID, sm2Digest, sm2PublicKeyPem, sm2PublicPoint, sm2Verify, sm2Z } from '@gec/chaincode';

/** The curve order n of SM2 (GB/T 32918.5). */
const N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');

/** An SM2 signature (DER) of `message` with private scalar d; nonce k random unless given. */
export function sm2Sign(message: Buffer, d: bigint, id?: string, nonce?: () => bigint): Buffer {
  const random = (): bigint => (BigInt(`0x${randomBytes(40).toString('hex')}`) % (N - 1n)) + 1n;
  return sm2SignWith(message, d, nonce ?? random, id);
}
