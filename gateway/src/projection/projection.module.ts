import { Global, Module } from '@nestjs/common';
import { Projector } from './projector.service';

@Global()
@Module({ providers: [Projector], exports: [Projector] })
export class ProjectionModule {}
