import { Module } from '@nestjs/common';
import { RegulatorPageController } from './regulator-page.controller';

/** Pages people open in a browser (the regulator page); the voucher's pages live with the vouchers. */
@Module({ controllers: [RegulatorPageController] })
export class PagesModule {}
