import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { problems } from '../problem.js';
import { bearerToken } from './api-key.guard.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Admin endpoints exist only when ADMIN_TOKEN is set (else 404), and need that token (else 401). */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expected: Buffer | null;

  constructor(@InjectConfig('admin') admin: AppConfig['admin']) {
    this.expected = admin.token ? digest(admin.token) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) throw problems.notFound();
    const token = bearerToken(context.switchToHttp().getRequest<Request>());
    if (!token || !timingSafeEqual(digest(token), this.expected)) {
      throw problems.unauthorized('The admin token is missing or wrong.');
    }
    return true;
  }
}
