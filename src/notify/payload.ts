import { flavourOf, Notice } from '../domain/notification';
import { slackMessageOf } from './slack';
import { teamsMessageOf } from './teams';

/**
 * The body posted for a notice, shaped for the receiver the URL names: an Adaptive Card for Teams
 * Workflows, Block Kit for Slack, and for anything else the notice itself as a JSON record
 * (`source` names this app; `kind` says which event it is).
 */
export function webhookBody(url: URL, notice: Notice): unknown {
  switch (flavourOf(url)) {
    case 'slack':
      return slackMessageOf(notice);
    case 'teams':
      return teamsMessageOf(notice);
    default:
      return { source: 'appgw-certbot', ...notice };
  }
}
