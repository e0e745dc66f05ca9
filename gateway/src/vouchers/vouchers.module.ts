import { Module } from '@nestjs/common';
import { VouchersController } from './vouchers.controller';
import { VouchersService } from './vouchers.service';

/** Vouchers (绿电凭证) in custody: projection, reads, release / claim / revoke, printable form. */
@Module({ controllers: [VouchersController], providers: [VouchersService] })
export class VouchersModule {}
