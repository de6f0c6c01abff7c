import type { FailureNotice } from '../domain/notification';
import { postNotice } from '../notify/webhook';
import { activity } from './context';

/** Posts a failure notice to FailureWebhookUrl when set and the event is enabled; always succeeds (see postNotice). */
export const notifyFailure = activity<FailureNotice, { sent: boolean }>(async (notice, { config }) => ({
  sent: await postNotice(config, notice),
}));
