import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { VoucherVerificationController } from './voucher-verification.controller';
import { VoucherVerificationService } from './voucher-verification.service';
import { VouchersController } from './vouchers.controller';
import { VouchersService } from './vouchers.service';

/**
 * Vouchers (绿电凭证) in custody: projection, reads, release / claim / revoke, printable form, and the public
 * verification page its QR code opens.
 */
@Module({
  imports: [AuditModule, AuthModule],
  controllers: [VouchersController, VoucherVerificationController],
  providers: [VouchersService, VoucherVerificationService],
})
export class VouchersModule {}
