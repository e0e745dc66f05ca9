import { Module } from '@nestjs/common';
import { CheckKeysController } from './check-keys.controller';
import { CheckKeysService } from './check-keys.service';

/** Trading-center check keys and check-data signature verification. */
@Module({ controllers: [CheckKeysController], providers: [CheckKeysService], exports: [CheckKeysService] })
export class SigningModule {}
